-- Jobs (see batch.rs): ARGV[3] = number of jobs; each job is its argument count, then: dedup key ('' =
-- none), dedup window (ms), the result to keep for duplicates, number of messages, the messages.
-- Answers one reply per job: {'dup', kept result} or {'ok'}.
local out = {}
local i = 4
for j = 1, tonumber(ARGV[3]) do
  local s = i + 1
  local dk = ARGV[s]
  local prev = false
  if dk ~= '' then
    prev = redis.call('GET', P .. 'dedup:' .. dk)
  end
  if prev then
    out[j] = {'dup', prev}
  else
    if dk ~= '' then
      redis.call('SET', P .. 'dedup:' .. dk, ARGV[s + 2], 'PX', ARGV[s + 1])
    end
    publish_many(s + 4, tonumber(ARGV[s + 3]))
    out[j] = {'ok'}
  end
  i = s + tonumber(ARGV[i])
end
return out
