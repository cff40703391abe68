-- At start of a single-node store: every lease belongs to a delivery that died with the previous
-- process, so every in-flight message is due again now. Answers how many.
local ids = redis.call('ZRANGE', P .. 'inflight', 0, -1)
for _, id in ipairs(ids) do recover(id) end
return #ids
