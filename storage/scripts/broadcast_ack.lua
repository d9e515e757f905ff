-- Record what happened to one recipient, once: the outcome and the count move together.
-- KEYS[1] broadcast hash  KEYS[2] inflight zset  KEYS[3] status hash  KEYS[4] unreachable set
-- KEYS[5] active set  KEYS[6] pacer  KEYS[7] recipients list
-- ARGV[1] recipient  ARGV[2] sent | failed | blocked | retry  ARGV[3] id  ARGV[4] finished-at (ISO)
-- ARGV[5] retry after (s, for 'retry')  ARGV[6] seconds the recipients, outcomes and claims are kept
-- once the broadcast is finished
-- A recipient neither claimed nor answered for was erased ("delete my data") while its sender held it:
-- it is counted as 'erased' and its Telegram id is written nowhere.
-- Returns 0 (nothing recorded), 1 (recorded) or 2 (recorded, and that finished the broadcast).
local member = ARGV[1]
local outcome = ARGV[2]
local claimed = redis.call('ZSCORE', KEYS[2], member)
local answered = redis.call('HEXISTS', KEYS[3], member) == 1
if not claimed and not answered then
  outcome = 'erased'
end
if outcome == 'retry' then
  if claimed and not answered then
    redis.call('ZADD', KEYS[2], 0, member)
  end
  local t = redis.call('TIME')
  local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[5])
  local slot = tonumber(redis.call('GET', KEYS[6]) or '0')
  if slot < until_ then
    redis.call('SET', KEYS[6], tostring(until_), 'PX', 60000 + math.floor(tonumber(ARGV[5]) * 1000))
  end
  return 0
end
redis.call('ZREM', KEYS[2], member)
if outcome ~= 'erased' then
  if redis.call('HSETNX', KEYS[3], member, outcome) == 0 then
    return 0
  end
  if outcome == 'blocked' then
    redis.call('SADD', KEYS[4], member)
  end
end
redis.call('HINCRBY', KEYS[1], outcome, 1)
local state = redis.call('HGET', KEYS[1], 'state')
local finished = false
local cursor = tonumber(redis.call('HGET', KEYS[1], 'cursor'))
local total = tonumber(redis.call('HGET', KEYS[1], 'total'))
if state == 'running' and cursor >= total and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[4])
  redis.call('SREM', KEYS[5], ARGV[3])
  state, finished = 'done', true
end
if state == 'done' or state == 'cancelled' then  -- also a late outcome after a cancel: keys expire
  redis.call('EXPIRE', KEYS[7], ARGV[6])
  redis.call('EXPIRE', KEYS[2], ARGV[6])
  redis.call('EXPIRE', KEYS[3], ARGV[6])
end
if finished then
  return 2
end
return 1
