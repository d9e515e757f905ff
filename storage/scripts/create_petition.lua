-- Create a petition from a draft, atomically and at most once per draft.
-- KEYS[1] ticket counter of the year      KEYS[2] draft -> ticket receipt
-- KEYS[3] the citizen's session           KEYS[4] timers:due
-- KEYS[5..] sorted-set indexes that list the ticket
-- ARGV[1] petition key prefix             ARGV[2] ticket prefix, e.g. "HT-2026-"
-- ARGV[3] petition JSON without its id    ARGV[4] index score (created, epoch seconds)
-- ARGV[5] receipt TTL (s)                 ARGV[6] session JSON after submission
-- ARGV[7] session TTL (s)                 ARGV[8] outbox key prefix
-- ARGV[9] number of timers t, then t pairs: timer due (epoch s), timer member
-- then pairs: outbox lane, outbox entry JSON (the messages this creation owes: receipt, case card...)
-- In timer members and outbox entries "{ticket}" stands for the new ticket.
-- The petition key is built from ARGV[1] and the ticket: it shares the province's hash tag, so it
-- lives in the same cluster slot as every declared key.
-- Returns {ticket, 1} when created, {ticket, 0} when this draft was already submitted.
local existing = redis.call('GET', KEYS[2])
if existing then
  return {existing, 0}
end
local n = redis.call('INCR', KEYS[1])
local ticket = ARGV[2] .. string.format('%06d', n)
-- The id goes first; the rest of the JSON is the client's, untouched (cjson would turn [] into {}).
local body = '{"id":' .. cjson.encode(ticket) .. ',' .. string.sub(ARGV[3], 2)
redis.call('SET', ARGV[1] .. ticket, body)
redis.call('SET', KEYS[2], ticket, 'EX', ARGV[5])
for i = 5, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[4], ticket)
end
local timers_end = 9 + 2 * tonumber(ARGV[9])
for i = 10, timers_end, 2 do
  local member = string.gsub(ARGV[i + 1], '{ticket}', ticket)
  redis.call('ZADD', KEYS[4], ARGV[i], member)
end
for i = timers_end + 1, #ARGV, 2 do
  local body = string.gsub(ARGV[i + 1], '{ticket}', ticket)
  outbox_push(ARGV[8], ARGV[i], body)
end
redis.call('SET', KEYS[3], ARGV[6], 'EX', ARGV[7])
return {ticket, 1}
