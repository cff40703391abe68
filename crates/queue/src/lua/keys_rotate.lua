-- current := next, next := ARGV[3]. Answers the new pair.
local k = P .. 'signing'
local nxt = redis.call('HGET', k, 'next')
if not nxt then return {} end
redis.call('HSET', k, 'current', nxt, 'next', ARGV[3])
return redis.call('HMGET', k, 'current', 'next')
