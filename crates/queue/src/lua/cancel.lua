-- Cancels the messages ARGV[3..]. One not in flight is removed now; one in flight is marked and removed
-- when its attempt ends. Answers {ids that exist, ids newly cancelled} (a message already marked counts
-- only in the first, so "cancel until none is left" loops end while a marked message is in flight).
local found = 0
local cancelled = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local mk = P .. 'msg:' .. id
  if redis.call('EXISTS', mk) == 1 then
    found = found + 1
    if redis.call('HGET', mk, 'cancel') ~= '1' then
      cancelled = cancelled + 1
      event(id, 'CANCEL_REQUESTED', '')
      if redis.call('ZSCORE', P .. 'inflight', id) then
        redis.call('HSET', mk, 'cancel', '1')
      else
        finalize(id, 'CANCELED', '', false)
      end
    end
  end
end
return {found, cancelled}
