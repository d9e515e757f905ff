-- Erase a citizen's personal data and/or anonymise petitions, all or nothing.
-- KEYS[1]            an index whose size must still be ARGV[4] (the citizen's petitions), or any key
-- KEYS[2..n+1]       petitions to replace         KEYS[n+2..2n+1] the index to remove each ticket from
-- next d KEYS        keys deleted whole           next m KEYS     sets/zsets/hashes/lists to remove members from
--                                                 (in a list the member is replaced by the tombstone '0')
-- ARGV[1] n   ARGV[2] d   ARGV[3] m   ARGV[4] expected ZCARD of KEYS[1], or -1 (no check)
-- ARGV[5] k, then k member values to remove (e.g. "tg:123" and "123")
-- then n triples: ticket, expected version, new petition JSON
-- Returns 1 when done, 0 when a petition changed (or the index grew) since it was read: nothing written.
local n, d, m = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if tonumber(ARGV[4]) >= 0 and redis.call('ZCARD', KEYS[1]) ~= tonumber(ARGV[4]) then
  return 0
end
local k = tonumber(ARGV[5])
local base = 5 + k
for i = 1, n do
  local raw = redis.call('GET', KEYS[1 + i])
  local at = base + (i - 1) * 3
  if not raw or tostring(cjson.decode(raw)['version']) ~= ARGV[at + 2] then
    return 0
  end
end
for i = 1, n do
  local at = base + (i - 1) * 3
  redis.call('SET', KEYS[1 + i], ARGV[at + 3])
  redis.call('ZREM', KEYS[1 + n + i], ARGV[at + 1])
end
for i = 2 * n + 2, 2 * n + 1 + d do
  redis.call('DEL', KEYS[i])
end
for i = 2 * n + 2 + d, 2 * n + 1 + d + m do
  local kind = redis.call('TYPE', KEYS[i])['ok']
  for j = 6, 5 + k do
    if kind == 'set' then
      redis.call('SREM', KEYS[i], ARGV[j])
    elseif kind == 'zset' then
      redis.call('ZREM', KEYS[i], ARGV[j])
    elseif kind == 'hash' then
      redis.call('HDEL', KEYS[i], ARGV[j])
    elseif kind == 'list' then
      -- Not LREM: a cursor into the list (a running broadcast's) must keep its place. The entry becomes
      -- the tombstone '0' (storage.keys.ERASED_MEMBER), which readers skip. LPOS: Redis >= 6.0.6.
      for _, at in ipairs(redis.call('LPOS', KEYS[i], ARGV[j], 'COUNT', 0)) do
        redis.call('LSET', KEYS[i], at, '0')
      end
    end
  end
end
return 1
