-- Claim up to ARGV[1] recipients of a running broadcast for one sender, each under a lease.
-- KEYS[1] broadcast hash  KEYS[2] recipients list  KEYS[3] inflight zset  KEYS[4] status hash
-- KEYS[5] pacer (shared next send slot)  KEYS[6] active set
-- ARGV[1] limit  ARGV[2] lease (s)  ARGV[3] rate (messages/s)  ARGV[4] id  ARGV[5] finished-at (ISO)
-- ARGV[6] seconds the recipients, outcomes and claims are kept once the broadcast is finished
-- Recipients whose lease expired (their sender died, or a 429 handed them back) come first; then the
-- cursor advances over the snapshot, skipping (and counting as 'erased') the tombstones '0' that
-- "delete my data" leaves in place of a recipient. The lease starts when this sender's pace slot comes
-- and covers sending the whole chunk at the pace: waiting for the slot never lets a claim expire.
-- Returns {'running' | 'done' (it just finished) | 'inactive', delay (s) before the first send,
-- recipients...}.
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then
  return {'inactive', '0'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit = tonumber(ARGV[1])
local rate = tonumber(ARGV[3])
local claimed = {}
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(stale) do
  if redis.call('HEXISTS', KEYS[4], member) == 1 then
    redis.call('ZREM', KEYS[3], member)
  else
    claimed[#claimed + 1] = member
  end
end
local cursor = tonumber(redis.call('HGET', KEYS[1], 'cursor'))
local total = tonumber(redis.call('HGET', KEYS[1], 'total'))
local take = math.min(limit - #claimed, total - cursor)
if take > 0 then
  local items = redis.call('LRANGE', KEYS[2], cursor, cursor + take - 1)
  redis.call('HINCRBY', KEYS[1], 'cursor', #items)
  local erased = 0
  for _, member in ipairs(items) do
    if member == '0' then
      erased = erased + 1
    else
      claimed[#claimed + 1] = member
    end
  end
  if erased > 0 then
    redis.call('HINCRBY', KEYS[1], 'erased', erased)
  end
  cursor = cursor + #items
end
if #claimed == 0 then
  if cursor >= total and redis.call('ZCARD', KEYS[3]) == 0 then
    redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[5])
    redis.call('SREM', KEYS[6], ARGV[4])
    for i = 2, 4 do redis.call('EXPIRE', KEYS[i], ARGV[6]) end
    return {'done', '0'}
  end
  return {'running', '0'}
end
local slot = tonumber(redis.call('GET', KEYS[5]) or '0')
if slot < now then slot = now end
local sending = #claimed / rate
redis.call('SET', KEYS[5], tostring(slot + sending), 'PX', 60000 + math.floor((slot - now) * 1000))
local lease = slot + sending + tonumber(ARGV[2])
for _, member in ipairs(claimed) do redis.call('ZADD', KEYS[3], lease, member) end
local result = {'running', tostring(slot - now)}
for _, member in ipairs(claimed) do result[#result + 1] = member end
return result
