-- Fires schedule ARGV[3] if its next time is still ARGV[4] (so one tick fires once, whichever node sees
-- it first): publishes ARGV[6] messages from ARGV[7] and sets the next time to ARGV[5].
local id = ARGV[3]
local s = redis.call('ZSCORE', P .. 'sched:due', id)
if (not s) or tonumber(s) ~= tonumber(ARGV[4]) then return 0 end
publish_many(7, tonumber(ARGV[6]))
redis.call('ZADD', P .. 'sched:due', tonumber(ARGV[5]), id)
redis.call('HSET', P .. 'sched:' .. id, 'last', n2s(NOW), 'next', ARGV[5])
return 1
