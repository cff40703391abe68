-- Shared by every queue script (prepended to each; the script's own body runs as `main`, then `flush`).
-- KEYS[1] is the partition prefix ("qstash:{q}:"), ARGV[1] the time in ms (scripts never read the
-- clock), ARGV[2] how many log entries to keep.
local P = KEYS[1]
local NOW = tonumber(ARGV[1])
local MAXEV = tonumber(ARGV[2])

local function n2s(n)
  return string.format('%d', n)
end

-- Writes no script reads back are buffered and sent at the end as one variadic command each: log
-- entries, additions to and removals from the `msgs` index, new messages' due times, leases ending.
local BUF = { events = {}, msgs_add = {}, msgs_rem = {}, due_add = {}, inflight_rem = {} }
local SEQ, SEQ_END = 0, 0

local function next_seq()
  if SEQ >= SEQ_END then
    SEQ_END = redis.call('INCRBY', P .. 'seq', 64)
    SEQ = SEQ_END - 64
  end
  SEQ = SEQ + 1
  return SEQ
end

local function push_all(cmd, key, list)
  -- unpack is bounded by the Lua stack: send long lists in slices.
  local n = #list
  local i = 1
  while i <= n do
    local j = math.min(i + 3999, n)
    redis.call(cmd, key, unpack(list, i, j))
    i = j + 1
  end
end

local function flush()
  local b = BUF
  if #b.msgs_add > 0 then push_all('ZADD', P .. 'msgs', b.msgs_add) end
  if #b.msgs_rem > 0 then push_all('ZREM', P .. 'msgs', b.msgs_rem) end
  if #b.due_add > 0 then push_all('ZADD', P .. 'due', b.due_add) end
  if #b.inflight_rem > 0 then push_all('ZREM', P .. 'inflight', b.inflight_rem) end
  if #b.events > 0 then
    push_all('ZADD', P .. 'events', b.events)
    redis.call('ZREMRANGEBYRANK', P .. 'events', 0, -(MAXEV + 1))
  end
end

local function append(list, ...)
  for _, v in ipairs({...}) do list[#list + 1] = v end
end

-- Appends a log entry for message `id` in `state`; `extra` is a JSON fragment (",\"k\":v...") or ''.
-- `ev` is the message's static log part when the caller has it (saves a read).
local function event(id, state, extra, ev)
  ev = ev or redis.call('HGET', P .. 'msg:' .. id, 'ev')
  if not ev then return end
  local seq = next_seq()
  append(BUF.events, seq,
    n2s(seq) .. ' ' .. ev .. ',"time":' .. n2s(NOW) .. ',"state":"' .. state .. '"' .. extra .. '}')
end

-- Moves up to (parallelism - active) waiting messages of queue `q` to the due set. A message holding a
-- slot records the queue's generation in `qslot`, so that a queue deleted and created again never counts
-- the slots of the old one's messages.
local function pump_queue(q)
  local qk = P .. 'queue:' .. q
  local h = redis.call('HMGET', qk, 'parallelism', 'active', 'paused', 'gen')
  if not h[1] then return end
  if h[3] == '1' then return end
  local par = tonumber(h[1])
  local active = tonumber(h[2] or '0')
  local gen = h[4] or '1'
  local moved = false
  while active < par do
    local id = redis.call('LPOP', qk .. ':wait')
    if not id then break end
    local mk = P .. 'msg:' .. id
    local nb = redis.call('HGET', mk, 'notBefore')
    if nb then
      active = active + 1
      moved = true
      redis.call('HSET', mk, 'qslot', gen)
      redis.call('ZADD', P .. 'due', math.max(NOW, tonumber(nb)), id)
    end
  end
  if moved then redis.call('HSET', qk, 'active', active) end
end

-- A new queue's generation.
local function queue_gen()
  return redis.call('INCR', P .. 'qgen')
end

local function ensure_queue(q)
  local qk = P .. 'queue:' .. q
  if redis.call('EXISTS', qk) == 0 then
    redis.call('HSET', qk, 'parallelism', 1, 'paused', '0', 'active', 0, 'gen', queue_gen(),
      'createdAt', n2s(NOW), 'updatedAt', n2s(NOW))
    redis.call('ZADD', P .. 'queues', NOW, q)
  end
end

-- Moves up to the free parallelism of flow-control key `key` from its wait list to the due set.
local function pump_fc(key)
  local fk = P .. 'fc:' .. key
  local h = redis.call('HMGET', fk, 'parallelism', 'active', 'paused')
  if h[3] == '1' then return end
  local free = 1000
  if h[1] and tonumber(h[1]) > 0 then free = tonumber(h[1]) - tonumber(h[2] or '0') end
  if free <= 0 then return end
  local ids = redis.call('ZRANGE', fk .. ':wait', 0, free - 1)
  for _, id in ipairs(ids) do
    redis.call('ZREM', fk .. ':wait', id)
    redis.call('ZADD', P .. 'due', NOW, id)
  end
end

-- Releases the flow-control slot message `id` holds, if any (`fc`, `fcslot`: its fields, when known).
local function fc_release(id, fc, fcslot)
  local mk = P .. 'msg:' .. id
  if fc == nil then
    local f = redis.call('HMGET', mk, 'fc', 'fcslot')
    fc, fcslot = f[1], f[2]
  end
  if fc and fcslot == '1' then
    local fk = P .. 'fc:' .. fc
    local active = tonumber(redis.call('HGET', fk, 'active') or '0')
    if active > 0 then redis.call('HSET', fk, 'active', active - 1) end
    redis.call('HSET', mk, 'fcslot', '0')
    pump_fc(fc)
  end
end

-- Tries to take a flow-control slot for `id`: 'ok'; or parks the message: 'wait' (in the key's wait
-- list: it must leave the due set) or 'later' (its due time moved to the end of the rate period).
local function fc_acquire(key, id)
  local fk = P .. 'fc:' .. key
  local h = redis.call('HMGET', fk, 'parallelism', 'rate', 'period', 'active', 'rateStart', 'rateCount', 'paused')
  local par = tonumber(h[1] or '0')
  local rate = tonumber(h[2] or '0')
  local period = tonumber(h[3] or '1')
  local active = tonumber(h[4] or '0')
  if h[7] == '1' or (par > 0 and active >= par) then
    redis.call('ZADD', fk .. ':wait', NOW, id)
    return 'wait'
  end
  if rate > 0 then
    local start = tonumber(h[5] or '0')
    local count = tonumber(h[6] or '0')
    if NOW >= start + period * 1000 then
      start = NOW
      count = 0
    end
    if count >= rate then
      redis.call('HSET', fk, 'rateStart', n2s(start), 'rateCount', count)
      redis.call('ZADD', P .. 'due', start + period * 1000, id)
      return 'later'
    end
    redis.call('HSET', fk, 'rateStart', n2s(start), 'rateCount', count + 1)
  end
  redis.call('HSET', fk, 'active', active + 1)
  return 'ok'
end

-- Sets a flow-control key's limits from an incoming message, unless pinned.
local function fc_config(key, par, rate, period)
  local fk = P .. 'fc:' .. key
  redis.call('ZADD', P .. 'fcs', 'NX', NOW, key)
  local pins = redis.call('HMGET', fk, 'pinP', 'pinR')
  if pins[1] ~= '1' then redis.call('HSET', fk, 'parallelism', par) end
  if pins[2] ~= '1' then redis.call('HSET', fk, 'rate', rate, 'period', period) end
end

-- Removes message `id` for good after logging `state` (with `extra`): releases its slots, drops it from
-- every index, deletes it. `inflight`: the message is known to be in flight (not due, not waiting).
-- `f`: its fields ev, queue, qslot, fc, fcslot when the caller read them already.
local function finalize(id, state, extra, inflight, f)
  local mk = P .. 'msg:' .. id
  f = f or redis.call('HMGET', mk, 'ev', 'queue', 'qslot', 'fc', 'fcslot', 'sched')
  event(id, state, extra, f[1])
  if f[6] then
    -- The schedule's record of its latest tick (`lastScheduleStates`).
    local states = P .. 'sched:' .. f[6] .. ':states'
    if redis.call('HEXISTS', states, id) == 1 then
      local result = 'FAIL'
      if state == 'DELIVERED' then result = 'SUCCESS' end
      redis.call('HSET', states, id, result)
    end
  end
  fc_release(id, f[4], f[5])
  if f[2] then
    local qk = P .. 'queue:' .. f[2]
    if f[3] and f[3] ~= '0' then
      -- Its slot counts only in the queue generation that gave it.
      local q = redis.call('HMGET', qk, 'active', 'gen')
      if q[1] and (q[2] or '1') == f[3] then
        local active = tonumber(q[1])
        if active > 0 then redis.call('HSET', qk, 'active', active - 1) end
        pump_queue(f[2])
      end
    elseif not inflight then
      redis.call('LREM', qk .. ':wait', 0, id)
    end
  end
  append(BUF.msgs_rem, id)
  if inflight then
    append(BUF.inflight_rem, id)
  else
    if f[4] then redis.call('ZREM', P .. 'fc:' .. f[4] .. ':wait', id) end
    redis.call('ZREM', P .. 'due', id)
    redis.call('ZREM', P .. 'inflight', id)
  end
  redis.call('DEL', mk)
end

-- Stores one message from ARGV[i .. i+12]: id, spec, body, ev, notBefore, maxRetries, queue, fc key,
-- fc parallelism, fc rate, fc period, createdAt, schedule id ('' = absent).
local MSG_FIELDS = 13
local function publish_one(i)
  local id = ARGV[i]
  local mk = P .. 'msg:' .. id
  local nb = tonumber(ARGV[i + 4])
  local q = ARGV[i + 6]
  local fc = ARGV[i + 7]
  redis.call('HSET', mk, 'spec', ARGV[i + 1], 'body', ARGV[i + 2], 'ev', ARGV[i + 3],
    'notBefore', ARGV[i + 4], 'maxRetries', ARGV[i + 5], 'createdAt', ARGV[i + 11],
    'state', 'CREATED', 'retried', 0)
  append(BUF.msgs_add, ARGV[i + 11], id)
  if ARGV[i + 12] ~= '' then
    redis.call('HSET', mk, 'sched', ARGV[i + 12])
  end
  if fc ~= '' then
    redis.call('HSET', mk, 'fc', fc)
    fc_config(fc, ARGV[i + 8], ARGV[i + 9], ARGV[i + 10])
  end
  event(id, 'CREATED', '', ARGV[i + 3])
  if q ~= '' then
    redis.call('HSET', mk, 'queue', q)
    ensure_queue(q)
    redis.call('RPUSH', P .. 'queue:' .. q .. ':wait', id)
    pump_queue(q)
  else
    append(BUF.due_add, nb, id)
  end
end

-- Publishes `n` messages starting at ARGV[i]; returns the index after them.
local function publish_many(i, n)
  for _ = 1, n do
    publish_one(i)
    i = i + MSG_FIELDS
  end
  return i
end

-- Puts a message whose lease ran out back in the due set.
local function recover(id)
  local mk = P .. 'msg:' .. id
  redis.call('ZREM', P .. 'inflight', id)
  if redis.call('EXISTS', mk) == 0 then return end
  fc_release(id)
  if redis.call('HGET', mk, 'cancel') == '1' then
    finalize(id, 'CANCELED', '', false)
    return
  end
  local retried = tonumber(redis.call('HGET', mk, 'retried') or '0')
  local state = 'CREATED'
  if retried > 0 then state = 'RETRY' end
  redis.call('HSET', mk, 'state', state, 'lease', '')
  redis.call('ZADD', P .. 'due', NOW, id)
end
