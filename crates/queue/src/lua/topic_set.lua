-- Compare-and-set of URL group ARGV[3]'s endpoints: only if they are still ARGV[4] ('' = no group), set
-- them to ARGV[5] ('' = delete the group). Answers 1, or 0 when they changed meanwhile.
local name = ARGV[3]
local tk = P .. 'topic:' .. name
local cur = redis.call('HGET', tk, 'endpoints') or ''
if cur ~= ARGV[4] then return 0 end
if ARGV[5] == '' then
  redis.call('DEL', tk)
  redis.call('ZREM', P .. 'topics', name)
  return 1
end
if cur == '' then
  redis.call('HSET', tk, 'createdAt', n2s(NOW))
  redis.call('ZADD', P .. 'topics', NOW, name)
end
redis.call('HSET', tk, 'endpoints', ARGV[5], 'updatedAt', n2s(NOW))
return 1
