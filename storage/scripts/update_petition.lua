-- Replace a petition if it is still at the version the caller read (stale buttons fail cleanly),
-- moving it between status and assignee indexes and scheduling its timers in the same step.
-- KEYS[1] petition                 KEYS[2] index of the old status   KEYS[3] index of the new status
-- KEYS[4] open index of the old assignee (a placeholder key when none)
-- KEYS[5] open index of the new assignee (a placeholder key when none)
-- KEYS[6] timers:due                KEYS[7] the petition's co-signers (a set of citizen ids)
-- ARGV[1] expected version         ARGV[2] new petition JSON          ARGV[3] ticket
-- ARGV[4] score (created time)     ARGV[5] "1" when the petition stays open, else "0"
-- ARGV[6] outbox key prefix  ARGV[7] number of timers t, then t pairs: timer due (epoch s), timer member
-- then the number of co-signer entries c, then c outbox entry JSONs whose lane is the placeholder
-- "@co-signer@": each is recorded once per co-signer (lane = their citizen id) at the time of the write
-- (anonymised co-signers, "erased:...", are skipped);
-- then pairs: outbox lane, outbox entry JSON (the messages this change owes)
-- Returns 1 on success, 0 when the petition changed since it was read, -1 when it does not exist.
local raw = redis.call('GET', KEYS[1])
if not raw then
  return -1
end
local current = cjson.decode(raw)
if tostring(current['version']) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
if KEYS[2] ~= KEYS[3] then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
end
redis.call('ZREM', KEYS[4], ARGV[3])
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[5], ARGV[4], ARGV[3])
end
local timers_end = 7 + 2 * tonumber(ARGV[7])
for i = 8, timers_end, 2 do
  redis.call('ZADD', KEYS[6], ARGV[i], ARGV[i + 1])
end
local co_count = tonumber(ARGV[timers_end + 1])
local co_end = timers_end + 1 + co_count
if co_count > 0 then
  local placeholder = '"lane":"@co-signer@"'
  local members = redis.call('SMEMBERS', KEYS[7])
  table.sort(members)
  for _, member in ipairs(members) do
    if string.sub(member, 1, 7) ~= 'erased:' then
      for i = timers_end + 2, co_end do
        local body = ARGV[i]
        local at = string.find(body, placeholder, 1, true)
        if at then
          body = string.sub(body, 1, at - 1) .. '"lane":' .. cjson.encode(member)
            .. string.sub(body, at + string.len(placeholder))
          outbox_push(ARGV[6], member, body)
        end
      end
    end
  end
end
for i = co_end + 1, #ARGV, 2 do
  outbox_push(ARGV[6], ARGV[i], ARGV[i + 1])
end
return 1
