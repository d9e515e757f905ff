-- Create a broadcast and snapshot its recipients, in one step.
-- KEYS[1] broadcast hash  KEYS[2] recipients list  KEYS[3] staging set  KEYS[4] unreachable set
-- KEYS[5] active set  KEYS[6] broadcasts zset  KEYS[7..] subscriber sets to unite (unless ARGV[4] = '1')
-- ARGV[1] id  ARGV[2] meta JSON  ARGV[3] created (epoch s)  ARGV[4] '1' when the staging set is filled
-- Returns the number of recipients, or -1 when the id exists already.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
if ARGV[4] ~= '1' then
  if #KEYS > 6 then
    local sources = {}
    for i = 7, #KEYS do sources[#sources + 1] = KEYS[i] end
    redis.call('SUNIONSTORE', KEYS[3], unpack(sources))
  else
    redis.call('DEL', KEYS[3])
  end
end
redis.call('SDIFFSTORE', KEYS[3], KEYS[3], KEYS[4])
redis.call('SORT', KEYS[3], 'STORE', KEYS[2])
redis.call('DEL', KEYS[3])
local total = redis.call('LLEN', KEYS[2])
redis.call('HSET', KEYS[1], 'meta', ARGV[2], 'state', 'running', 'cursor', 0, 'total', total,
  'sent', 0, 'failed', 0, 'blocked', 0)
redis.call('SADD', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[1])
return total
