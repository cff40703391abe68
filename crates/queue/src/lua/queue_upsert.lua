-- ARGV[3] queue name, ARGV[4] parallelism, ARGV[5] paused ('1'/'0').
local q = ARGV[3]
local qk = P .. 'queue:' .. q
if redis.call('EXISTS', qk) == 0 then
  redis.call('HSET', qk, 'createdAt', n2s(NOW), 'active', 0, 'gen', queue_gen())
  redis.call('ZADD', P .. 'queues', NOW, q)
end
redis.call('HSET', qk, 'parallelism', ARGV[4], 'paused', ARGV[5], 'updatedAt', n2s(NOW))
pump_queue(q)
return 1
