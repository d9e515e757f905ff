-- An official corrects a petition's topic: the petition, its category index and the corrections
-- stream change together, only if the petition is still at the version that was read.
-- KEYS[1] petition:<ticket>   KEYS[2] the old category index   KEYS[3] the new category index
-- KEYS[4] topics:corrections (stream)
-- ARGV[1] expected version   ARGV[2] the new petition JSON   ARGV[3] ticket   ARGV[4] index score
-- ARGV[5..] field, value pairs of the correction recorded in the stream
-- Returns 1 when written, 0 when the petition changed meanwhile, -1 when it does not exist.
local raw = redis.call('GET', KEYS[1])
if not raw then
  return -1
end
if tostring(cjson.decode(raw)['version']) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
local fields = {}
for i = 5, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('XADD', KEYS[4], '*', unpack(fields))
return 1
