-- ARGV[3] current, ARGV[4] next signing key from the configuration, ARGV[5] '1' when they were given
-- explicitly (they win: keys stored by an earlier rotation are dropped). Stored keys exist only after
-- a rotation, so a fresh server writes nothing. Answers the keys in force.
local k = P .. 'signing'
if ARGV[5] == '1' then
  redis.call('DEL', k)
end
local stored = redis.call('HMGET', k, 'current', 'next')
if stored[1] and stored[2] then return stored end
return {ARGV[3], ARGV[4]}
