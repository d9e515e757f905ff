-- How many distinct subscribers an audience would reach now (read only: nothing is stored).
-- KEYS[1] unreachable set  KEYS[2..] subscriber sets to unite
-- Returns the number of members of the union that are not unreachable.
if #KEYS < 2 then
  return 0
end
local sources = {}
for i = 2, #KEYS do sources[#sources + 1] = KEYS[i] end
local members = redis.call('SUNION', unpack(sources))
local count = 0
for _, member in ipairs(members) do
  if redis.call('SISMEMBER', KEYS[1], member) == 0 then
    count = count + 1
  end
end
return count
