-- ARGV[3] dedup key ('' = none), ARGV[4] dedup window (ms), ARGV[5] the result to keep for duplicates,
-- ARGV[6] number of messages, messages from ARGV[7]. Answers {'dup', kept result} or {'ok'}.
local dk = ARGV[3]
if dk ~= '' then
  local prev = redis.call('GET', P .. 'dedup:' .. dk)
  if prev then return {'dup', prev} end
  redis.call('SET', P .. 'dedup:' .. dk, ARGV[5], 'PX', ARGV[4])
end
publish_many(7, tonumber(ARGV[6]))
return {'ok'}
