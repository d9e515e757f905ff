-- Whether this process may edit a broadcast's progress message now (at most once per interval).
-- KEYS[1] broadcast hash  ARGV[1] interval (s)  ARGV[2] '1' to force
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local last = tonumber(redis.call('HGET', KEYS[1], 'progress_at') or '0')
if ARGV[2] ~= '1' and now - last < tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'progress_at', tostring(now))
return 1
