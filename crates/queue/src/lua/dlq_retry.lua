-- Re-publishes DLQ entry ARGV[3] as the message at ARGV[5..] (ARGV[4] = 1) and removes the entry.
-- Answers 0 when the entry is gone.
local dk = P .. 'dlq:' .. ARGV[3]
if redis.call('EXISTS', dk) == 0 then
  redis.call('ZREM', P .. 'dlq', ARGV[3])
  return 0
end
publish_many(5, tonumber(ARGV[4]))
redis.call('DEL', dk)
redis.call('ZREM', P .. 'dlq', ARGV[3])
return 1
