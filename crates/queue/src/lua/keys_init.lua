-- ARGV[3] current, ARGV[4] next signing key, ARGV[5] '1' to overwrite stored keys. Answers the keys in force.
local k = P .. 'signing'
if ARGV[5] == '1' or redis.call('EXISTS', k) == 0 then
  redis.call('HSET', k, 'current', ARGV[3], 'next', ARGV[4])
end
return redis.call('HMGET', k, 'current', 'next')
