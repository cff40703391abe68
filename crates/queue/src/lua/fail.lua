-- A failed attempt. ARGV[3] id, ARGV[4] lease token, ARGV[5] next due time ('' = no attempts left),
-- ARGV[6] log fragment for ERROR, ARGV[7] log fragment for RETRY or FAILED, ARGV[8] DLQ id, ARGV[9] DLQ
-- retention (ms), ARGV[10] response status, ARGV[11] response headers (JSON), ARGV[12] response body,
-- ARGV[13] messages published in any case (the callback), ARGV[14] messages published only when the
-- message fails for good (the failure callback), messages from ARGV[15].
-- Answers 0 (lease lost), 1 (retry scheduled), 2 (cancelled), 3 (failed, in the DLQ).
local id = ARGV[3]
local mk = P .. 'msg:' .. id
if redis.call('HGET', mk, 'lease') ~= ARGV[4] then return 0 end
event(id, 'ERROR', ARGV[6])
local na = tonumber(ARGV[13])
local nf = tonumber(ARGV[14])
if redis.call('HGET', mk, 'cancel') == '1' then
  finalize(id, 'CANCELED', '', true)
  publish_many(15, na)
  return 2
end
if ARGV[5] ~= '' then
  fc_release(id)
  redis.call('ZREM', P .. 'inflight', id)
  redis.call('HINCRBY', mk, 'retried', 1)
  redis.call('HSET', mk, 'state', 'RETRY', 'lease', '')
  redis.call('ZADD', P .. 'due', tonumber(ARGV[5]), id)
  event(id, 'RETRY', ARGV[7])
  publish_many(15, na)
  return 1
end
local dk = P .. 'dlq:' .. ARGV[8]
local m = redis.call('HMGET', mk, 'spec', 'body', 'retried', 'createdAt')
redis.call('HSET', dk, 'spec', m[1], 'body', m[2], 'retried', m[3], 'createdAt', m[4], 'messageId', id,
  'responseStatus', ARGV[10], 'responseHeader', ARGV[11], 'responseBody', ARGV[12], 'failedAt', n2s(NOW))
redis.call('PEXPIRE', dk, ARGV[9])
redis.call('ZADD', P .. 'dlq', NOW, ARGV[8])
finalize(id, 'FAILED', ARGV[7], true)
publish_many(15, na + nf)
return 3
