-- The outbox's append, prepended to every script whose change owes someone a message, so that the
-- message is recorded in the same atomic step as the change (see storage/outbox.py).
-- base: the outbox key prefix (".../outbox:"), lane: one recipient's queue (kept in order),
-- body: the entry as a JSON object without its id.
local function outbox_push(base, lane, body)
  local id = tostring(redis.call('INCR', base .. 'seq'))
  redis.call('RPUSH', base .. 'lane:' .. lane, '{"id":"' .. id .. '",' .. string.sub(body, 2))
  -- A lane being sent by a worker is re-queued by that worker when it lets go of it.
  if not redis.call('ZSCORE', base .. 'inflight', lane) then
    redis.call('ZADD', base .. 'lanes', 'NX', 0, lane)
  end
  return id
end

-- Whether the entry at the head of a lane is the one with this id (another sender may have taken over).
local function outbox_head_is(lane_key, id)
  local head = redis.call('LINDEX', lane_key, 0)
  return head and cjson.decode(head)['id'] == id
end
