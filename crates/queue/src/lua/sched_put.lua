-- Creates or overwrites schedule ARGV[3] with spec ARGV[4]; ARGV[5] next fire time, ARGV[6] paused.
local id = ARGV[3]
local sk = P .. 'sched:' .. id
redis.call('HSETNX', sk, 'createdAt', n2s(NOW))
redis.call('HSET', sk, 'spec', ARGV[4], 'paused', ARGV[6], 'next', ARGV[5])
redis.call('ZADD', P .. 'scheds', 'NX', NOW, id)
if ARGV[6] == '1' then
  redis.call('ZREM', P .. 'sched:due', id)
else
  redis.call('ZADD', P .. 'sched:due', tonumber(ARGV[5]), id)
end
return 1
