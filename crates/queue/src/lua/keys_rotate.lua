-- current := next, next := ARGV[5]; ARGV[3], ARGV[4] are the keys in force when none are stored.
-- Answers the new pair.
local k = P .. 'signing'
local stored = redis.call('HMGET', k, 'current', 'next')
local nxt = stored[2] or ARGV[4]
redis.call('HSET', k, 'current', nxt, 'next', ARGV[5])
return {nxt, ARGV[5]}
