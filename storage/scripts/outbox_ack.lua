-- An entry was finished (delivered, or given up with its fallback sent): take it off its lane, log
-- it, and extend the sender's lease on the lane.
-- KEYS[1] the lane  KEYS[2] outbox:delivered (stream)  KEYS[3] outbox:inflight
-- ARGV[1] entry id  ARGV[2] lane  ARGV[3] lease (s)  ARGV[4] log length kept  ARGV[5..] field, value pairs
-- Returns 1, or 0 when the entry was not at the head of its lane (another sender took over).
if not outbox_head_is(KEYS[1], ARGV[1]) then
  return 0
end
redis.call('LPOP', KEYS[1])
local fields = {'id', ARGV[1]}
for i = 5, #ARGV do
  table.insert(fields, ARGV[i])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], 'XX', tonumber(t[1]) + tonumber(ARGV[3]), ARGV[2])
return 1
