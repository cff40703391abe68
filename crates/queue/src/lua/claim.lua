-- ARGV[3] lease deadline (ms), ARGV[4] most messages to claim, ARGV[5] owner, ARGV[6] lease token prefix.
-- Answers {{id, token, spec, body, retried}...}, next due time or ''}.
local expired = redis.call('ZRANGEBYSCORE', P .. 'inflight', '-inf', NOW, 'LIMIT', 0, 100)
for _, id in ipairs(expired) do recover(id) end
local ids = redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for i, id in ipairs(ids) do
  local mk = P .. 'msg:' .. id
  redis.call('ZREM', P .. 'due', id)
  local f = redis.call('HMGET', mk, 'state', 'cancel', 'fc', 'ev', 'spec', 'body', 'retried')
  if f[1] then
    if f[2] == '1' then
      finalize(id, 'CANCELED', '', false)
    elseif (not f[3]) or fc_acquire(f[3], id) then
      local token = ARGV[6] .. i
      if f[3] then
        redis.call('HSET', mk, 'state', 'ACTIVE', 'lease', token, 'owner', ARGV[5], 'fcslot', '1')
      else
        redis.call('HSET', mk, 'state', 'ACTIVE', 'lease', token, 'owner', ARGV[5])
      end
      redis.call('ZADD', P .. 'inflight', tonumber(ARGV[3]), id)
      event(id, 'ACTIVE', '', f[4])
      out[#out + 1] = {id, token, f[5], f[6], f[7]}
    end
  end
end
local nxt = redis.call('ZRANGE', P .. 'due', 0, 0, 'WITHSCORES')
return {out, nxt[2] or ''}
