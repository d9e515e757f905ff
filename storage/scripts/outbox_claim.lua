-- Claim lanes whose turn has come, for one sender: each lane goes to one sender at a time, so one
-- recipient's messages leave in order. KEYS[1] outbox:lanes  KEYS[2] outbox:inflight
-- ARGV[1] outbox key prefix  ARGV[2] lease (s, Redis time)  ARGV[3] most lanes  ARGV[4] most entries a lane
-- ARGV[5..] only these lanes (an inline flush after a change), else any due lane.
-- Lanes whose sender died (lease expired) are due again first. While the global hold (a flood wait
-- Telegram imposed on the whole bot) lasts, nothing is claimed.
-- Returns {{lane, entry JSON, ...}, ...}.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local base = ARGV[1]
for _, lane in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], lane)
  if redis.call('LLEN', base .. 'lane:' .. lane) > 0 then
    redis.call('ZADD', KEYS[1], 0, lane)
  end
end
local hold = tonumber(redis.call('GET', base .. 'hold') or '0')
if hold > now then
  return {}
end
local due = {}
if #ARGV >= 5 then
  for i = 5, #ARGV do
    local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
    if score and tonumber(score) <= now then
      table.insert(due, ARGV[i])
    end
  end
else
  due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
end
local result = {}
for _, lane in ipairs(due) do
  redis.call('ZREM', KEYS[1], lane)
  local entries = redis.call('LRANGE', base .. 'lane:' .. lane, 0, tonumber(ARGV[4]) - 1)
  if #entries > 0 then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), lane)
    local claimed = {lane}
    for _, entry in ipairs(entries) do
      table.insert(claimed, entry)
    end
    table.insert(result, claimed)
  end
end
return result
