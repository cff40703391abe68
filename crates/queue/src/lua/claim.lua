-- ARGV[3] lease deadline (ms), ARGV[4] most messages to claim, ARGV[5] owner, ARGV[6] lease token prefix.
-- Answers {{id, token, spec, body, retried}...}, next due time or ''}.
local expired = redis.call('ZRANGEBYSCORE', P .. 'inflight', '-inf', NOW, 'LIMIT', 0, 100)
for _, id in ipairs(expired) do recover(id) end
local ids = redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
local leave = {}
local leases = {}
for i, id in ipairs(ids) do
  local mk = P .. 'msg:' .. id
  local f = redis.call('HMGET', mk, 'state', 'cancel', 'fc', 'ev', 'spec', 'body', 'retried')
  if not f[1] then
    leave[#leave + 1] = id
  elseif f[2] == '1' then
    finalize(id, 'CANCELED', '', false)
  else
    local got = 'ok'
    if f[3] then got = fc_acquire(f[3], id) end
    if got == 'ok' then
      local token = ARGV[6] .. i
      if f[3] then
        redis.call('HSET', mk, 'state', 'ACTIVE', 'lease', token, 'owner', ARGV[5], 'fcslot', '1')
      else
        redis.call('HSET', mk, 'state', 'ACTIVE', 'lease', token, 'owner', ARGV[5])
      end
      leave[#leave + 1] = id
      leases[#leases + 1] = ARGV[3]
      leases[#leases + 1] = id
      event(id, 'ACTIVE', '', f[4])
      out[#out + 1] = {id, token, f[5], f[6], f[7]}
    elseif got == 'wait' then
      leave[#leave + 1] = id
    end
  end
end
if #leave > 0 then push_all('ZREM', P .. 'due', leave) end
if #leases > 0 then push_all('ZADD', P .. 'inflight', leases) end
local nxt = redis.call('ZRANGE', P .. 'due', 0, 0, 'WITHSCORES')
return {out, nxt[2] or ''}
