-- ARGV[3] queue name, ARGV[4] '1' to pause, '0' to resume. Answers 0 for an unknown queue.
local q = ARGV[3]
local qk = P .. 'queue:' .. q
if redis.call('EXISTS', qk) == 0 then return 0 end
redis.call('HSET', qk, 'paused', ARGV[4], 'updatedAt', n2s(NOW))
pump_queue(q)
return 1
