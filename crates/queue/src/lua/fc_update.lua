-- ARGV[3] flow-control key, ARGV[4] operation: pause, resume, pin (ARGV[5] parallelism or '', ARGV[6]
-- rate or '', ARGV[7] period or ''), unpin (ARGV[5] '1' to unpin parallelism, ARGV[6] '1' for rate),
-- reset. Answers 0 for an unknown key.
local key = ARGV[3]
local fk = P .. 'fc:' .. key
if not redis.call('ZSCORE', P .. 'fcs', key) then return 0 end
local op = ARGV[4]
if op == 'pause' then
  redis.call('HSET', fk, 'paused', '1')
elseif op == 'resume' then
  redis.call('HSET', fk, 'paused', '0')
  pump_fc(key)
elseif op == 'pin' then
  if ARGV[5] ~= '' then redis.call('HSET', fk, 'parallelism', ARGV[5], 'pinP', '1') end
  if ARGV[6] ~= '' then redis.call('HSET', fk, 'rate', ARGV[6], 'pinR', '1') end
  if ARGV[7] ~= '' then redis.call('HSET', fk, 'period', ARGV[7], 'pinR', '1') end
  redis.call('HSET', fk, 'rateStart', n2s(NOW), 'rateCount', 0)
  pump_fc(key)
elseif op == 'unpin' then
  if ARGV[5] == '1' then redis.call('HSET', fk, 'pinP', '0') end
  if ARGV[6] == '1' then redis.call('HSET', fk, 'pinR', '0') end
elseif op == 'reset' then
  redis.call('HSET', fk, 'rateStart', n2s(NOW), 'rateCount', 0)
  pump_fc(key)
end
return 1
