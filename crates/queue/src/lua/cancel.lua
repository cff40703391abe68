-- Cancels the messages ARGV[3..]. One not in flight is removed now; one in flight is marked and removed
-- when its attempt ends. Answers how many of the ids existed.
local n = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local mk = P .. 'msg:' .. id
  if redis.call('EXISTS', mk) == 1 then
    n = n + 1
    if redis.call('HGET', mk, 'cancel') ~= '1' then
      event(id, 'CANCEL_REQUESTED', '')
      if redis.call('ZSCORE', P .. 'inflight', id) then
        redis.call('HSET', mk, 'cancel', '1')
      else
        finalize(id, 'CANCELED', '', false)
      end
    end
  end
end
return n
