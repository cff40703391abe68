-- ARGV[3] queue name. Messages still waiting in it are cancelled; those already out of the wait list
-- finish. Answers 0 for an unknown queue.
local q = ARGV[3]
local qk = P .. 'queue:' .. q
if redis.call('EXISTS', qk) == 0 then return 0 end
local waiting = redis.call('LRANGE', qk .. ':wait', 0, -1)
redis.call('DEL', qk .. ':wait', qk)
redis.call('ZREM', P .. 'queues', q)
for _, id in ipairs(waiting) do
  event(id, 'CANCEL_REQUESTED', '')
  finalize(id, 'CANCELED', '', false)
end
return 1
