-- Successful attempts, batched (see batch.rs): ARGV[3] = number of jobs; each job is its argument count,
-- then: id, lease token, log fragment for DELIVERED, number of messages to publish (the callback), the
-- messages. Answers per job 1, or 0 when the lease was lost (the message was re-claimed meanwhile).
local out = {}
local i = 4
for j = 1, tonumber(ARGV[3]) do
  local s = i + 1
  local id = ARGV[s]
  local f = redis.call('HMGET', P .. 'msg:' .. id, 'lease', 'ev', 'queue', 'qslot', 'fc', 'fcslot')
  if f[1] == ARGV[s + 1] then
    finalize(id, 'DELIVERED', ARGV[s + 2], true, {f[2], f[3], f[4], f[5], f[6]})
    publish_many(s + 4, tonumber(ARGV[s + 3]))
    out[j] = 1
  else
    out[j] = 0
  end
  i = s + tonumber(ARGV[i])
end
return out
