-- Record owed messages on their own (when no other write goes with them).
-- KEYS[1] outbox:lanes (declared for the cluster slot check)
-- ARGV[1] outbox key prefix, then pairs: lane, entry JSON. Returns the number recorded.
local n = 0
for i = 2, #ARGV, 2 do
  outbox_push(ARGV[1], ARGV[i], ARGV[i + 1])
  n = n + 1
end
return n
