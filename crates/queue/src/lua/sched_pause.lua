-- ARGV[3] schedule id, ARGV[4] '1' pause / '0' resume, ARGV[5] next fire time when resuming.
local id = ARGV[3]
local sk = P .. 'sched:' .. id
if redis.call('EXISTS', sk) == 0 then return 0 end
redis.call('HSET', sk, 'paused', ARGV[4])
if ARGV[4] == '1' then
  redis.call('ZREM', P .. 'sched:due', id)
else
  redis.call('HSET', sk, 'next', ARGV[5])
  redis.call('ZADD', P .. 'sched:due', tonumber(ARGV[5]), id)
end
return 1
