-- A sender lets go of a lane: due again after ARGV[2] seconds (0: now) if anything is left in it.
-- KEYS[1] outbox:lanes  KEYS[2] outbox:inflight  KEYS[3] the lane
-- ARGV[1] lane  ARGV[2] delay (s)  ARGV[3] id of the head entry to rewrite (attempts, progress) or ""
-- ARGV[4] its JSON. Returns 1.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[3] ~= '' and outbox_head_is(KEYS[3], ARGV[3]) then
  redis.call('LSET', KEYS[3], 0, ARGV[4])
end
if redis.call('LLEN', KEYS[3]) > 0 then
  local delay = tonumber(ARGV[2])
  redis.call('ZADD', KEYS[1], delay > 0 and (now + delay) or 0, ARGV[1])
end
return 1
