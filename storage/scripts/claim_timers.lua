-- Claim due timers for one worker: each timer goes to exactly one claimer.
-- KEYS[1] timers:due   KEYS[2] timers:inflight
-- ARGV[1] now (the service clock, epoch s)   ARGV[2] lease (s, Redis server time)   ARGV[3] limit
-- Timers whose lease expired (their worker died) are due again first.
local t = redis.call('TIME')
local server_now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', server_now)
for _, member in ipairs(stale) do
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZADD', KEYS[1], ARGV[1], member)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZADD', KEYS[2], server_now + tonumber(ARGV[2]), member)
end
return due
