-- ARGV[3] schedule id. Answers 0 if it did not exist.
local id = ARGV[3]
redis.call('ZREM', P .. 'sched:due', id)
redis.call('ZREM', P .. 'scheds', id)
return redis.call('DEL', P .. 'sched:' .. id)
