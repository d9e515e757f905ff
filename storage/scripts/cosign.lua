-- A citizen joins an open petition ("me too"), atomically and at most once.
-- KEYS[1] petition:<ticket>   KEYS[2] cosigners:<ticket>   KEYS[3] citizen:<cid>:cosigned
-- KEYS[4] session:<cid>
-- ARGV[1] citizen id   ARGV[2] time joined (epoch s)   ARGV[3] the session after joining (JSON, or "")
-- ARGV[4] session TTL (s)
-- Returns {1, count} when added, {0, count} when already a co-signer (nothing else changes then but the
-- session), {-1, 0} when the petition is missing or no longer open, {-2, 0} when it is the citizen's own.
local raw = redis.call('GET', KEYS[1])
if not raw then
  return {-1, 0}
end
local petition = cjson.decode(raw)
local status = petition['status']
if status ~= 'submitted' and status ~= 'accepted' and status ~= 'in_progress' then
  return {-1, 0}
end
if petition['citizen_id'] == ARGV[1] then
  return {-2, 0}
end
local added = redis.call('SADD', KEYS[2], ARGV[1])
if added == 1 then
  redis.call('ZADD', KEYS[3], ARGV[2], petition['id'])
end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[4])
end
return {added, redis.call('SCARD', KEYS[2])}
