-- A successful attempt. ARGV[3] id, ARGV[4] lease token, ARGV[5] log fragment for DELIVERED,
-- ARGV[6] number of messages to publish (the callback), messages from ARGV[7]. Answers 1, or 0 when the
-- lease was lost (the message was re-claimed or cancelled meanwhile).
local mk = P .. 'msg:' .. ARGV[3]
if redis.call('HGET', mk, 'lease') ~= ARGV[4] then return 0 end
finalize(ARGV[3], 'DELIVERED', ARGV[5], true)
publish_many(7, tonumber(ARGV[6]))
return 1
