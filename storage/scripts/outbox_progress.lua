-- Record that the head entry's first messages were sent (so a retry skips them); extend the lease.
-- KEYS[1] the lane  KEYS[2] outbox:inflight  ARGV[1] entry id  ARGV[2] its JSON  ARGV[3] lane
-- ARGV[4] lease (s). Returns 1, or 0 when the entry is no longer at the head (erased, taken over).
if not outbox_head_is(KEYS[1], ARGV[1]) then
  return 0
end
redis.call('LSET', KEYS[1], 0, ARGV[2])
local t = redis.call('TIME')
redis.call('ZADD', KEYS[2], 'XX', tonumber(t[1]) + tonumber(ARGV[4]), ARGV[3])
return 1
