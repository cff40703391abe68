-- Deletes DLQ entries ARGV[3..]. Answers how many existed.
local n = 0
for i = 3, #ARGV do
  n = n + redis.call('DEL', P .. 'dlq:' .. ARGV[i])
  redis.call('ZREM', P .. 'dlq', ARGV[i])
end
return n
