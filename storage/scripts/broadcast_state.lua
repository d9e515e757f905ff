-- Move a broadcast between states: pause (running → paused), resume (paused → running),
-- cancel (running | paused → cancelled). KEYS[1] broadcast hash  KEYS[2] active set
-- KEYS[3..5] recipients list, inflight zset, status hash (kept ARGV[4] seconds once cancelled)
-- ARGV[1] id  ARGV[2] new state  ARGV[3] finished-at (ISO, for cancel)  ARGV[4] seconds kept
-- ARGV[5..] states allowed before
-- Returns the state before (unchanged when the move is not allowed).
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return ''
end
for i = 5, #ARGV do
  if state == ARGV[i] then
    redis.call('HSET', KEYS[1], 'state', ARGV[2])
    if ARGV[2] == 'cancelled' then
      redis.call('HSET', KEYS[1], 'finished_at', ARGV[3])
      redis.call('SREM', KEYS[2], ARGV[1])
      for k = 3, 5 do redis.call('EXPIRE', KEYS[k], ARGV[4]) end
    elseif ARGV[2] == 'running' then
      redis.call('SADD', KEYS[2], ARGV[1])
    end
    return state
  end
end
return state
