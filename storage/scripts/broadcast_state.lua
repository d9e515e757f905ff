-- Move a broadcast between states: pause (running → paused), resume (paused → running),
-- cancel (running | paused → cancelled). KEYS[1] broadcast hash  KEYS[2] active set
-- ARGV[1] id  ARGV[2] new state  ARGV[3] finished-at (ISO, for cancel)  ARGV[4..] states allowed before
-- Returns the state before (unchanged when the move is not allowed).
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return ''
end
for i = 4, #ARGV do
  if state == ARGV[i] then
    redis.call('HSET', KEYS[1], 'state', ARGV[2])
    if ARGV[2] == 'cancelled' then
      redis.call('HSET', KEYS[1], 'finished_at', ARGV[3])
      redis.call('SREM', KEYS[2], ARGV[1])
    elseif ARGV[2] == 'running' then
      redis.call('SADD', KEYS[2], ARGV[1])
    end
    return state
  end
end
return state
