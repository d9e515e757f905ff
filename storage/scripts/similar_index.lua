-- Put a petition into (or take it out of) the "me too" similarity index, atomically.
-- KEYS[1] docs hash (id -> "locality|category|tok tok ...")   KEYS[2] df hash (token -> open petitions)
-- KEYS[3] the old bucket set (or any placeholder)              KEYS[4] the new bucket set (or placeholder)
-- KEYS[5 .. 4+a] the old bucket's posting sets of the old tokens
-- KEYS[5+a .. 4+a+b] the new bucket's posting sets of the new tokens
-- ARGV[1] id   ARGV[2] the doc the caller read ("" when none)   ARGV[3] the new doc ("" to remove)
-- ARGV[4] a    ARGV[5] b   ARGV[6 .. 5+a] old tokens   ARGV[6+a .. 5+a+b] new tokens
-- Returns 1 when done, 0 when the doc changed since it was read (nothing written: read again).
local id = ARGV[1]
local current = redis.call('HGET', KEYS[1], id) or ''
if current ~= ARGV[2] then
  return 0
end
local a, b = tonumber(ARGV[4]), tonumber(ARGV[5])
if current ~= '' then
  redis.call('SREM', KEYS[3], id)
  for i = 1, a do
    redis.call('SREM', KEYS[4 + i], id)
    if redis.call('HINCRBY', KEYS[2], ARGV[5 + i], -1) <= 0 then
      redis.call('HDEL', KEYS[2], ARGV[5 + i])
    end
  end
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], id)
  return 1
end
redis.call('SADD', KEYS[4], id)
for i = 1, b do
  redis.call('SADD', KEYS[4 + a + i], id)
  redis.call('HINCRBY', KEYS[2], ARGV[5 + a + i], 1)
end
redis.call('HSET', KEYS[1], id, ARGV[3])
return 1
