-- Record what happened to one recipient, once: the outcome and the count move together.
-- KEYS[1] broadcast hash  KEYS[2] inflight zset  KEYS[3] status hash  KEYS[4] unreachable set
-- KEYS[5] active set  KEYS[6] pacer
-- ARGV[1] recipient  ARGV[2] sent | failed | blocked | retry  ARGV[3] id  ARGV[4] finished-at (ISO)
-- ARGV[5] retry after (s, for 'retry')
-- Returns 0 (nothing recorded), 1 (recorded) or 2 (recorded, and that finished the broadcast).
local member = ARGV[1]
local outcome = ARGV[2]
if outcome == 'retry' then
  if redis.call('ZSCORE', KEYS[2], member) and redis.call('HEXISTS', KEYS[3], member) == 0 then
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
if redis.call('HSETNX', KEYS[3], member, outcome) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[1], outcome, 1)
if outcome == 'blocked' then
  redis.call('SADD', KEYS[4], member)
end
local state = redis.call('HGET', KEYS[1], 'state')
local cursor = tonumber(redis.call('HGET', KEYS[1], 'cursor'))
local total = tonumber(redis.call('HGET', KEYS[1], 'total'))
if state == 'running' and cursor >= total and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[4])
  redis.call('SREM', KEYS[5], ARGV[3])
  return 2
end
return 1
