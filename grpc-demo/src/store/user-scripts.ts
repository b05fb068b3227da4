import { LuaScript } from "@clusterkit/redis-kit";

/*
 * Keys (KEYS[n] in every script, so the layout lives in one place, user-keys.ts):
 *   1 users:next_id   INCR counter for ids
 *   2 users:by_email  hash: lower-cased email -> id (the uniqueness index)
 *   3 users:ids       sorted set of ids (score = id), for listing in id order
 *   4 users:events    the domain-event stream
 *   5 users:events:horizon  the newest event id trimmed away: cursors before it are too old
 * A user lives in the hash users:<id> (ARGV[1] is the prefix). Scripts touch keys they build
 * themselves, which is fine on one Redis (not on Redis Cluster, where these keys would need a
 * hash tag).
 */

// Appends one event, trimming the stream to `maxlen` and remembering what trimming dropped.
const APPEND_EVENT = `
local function append_event(maxlen, json)
  local excess = redis.call('XLEN', KEYS[4]) - maxlen + 1
  if excess > 0 then
    local dropped = redis.call('XRANGE', KEYS[4], '-', '+', 'COUNT', excess)
    redis.call('SET', KEYS[5], dropped[#dropped][1])
  end
  return redis.call('XADD', KEYS[4], 'MAXLEN', maxlen, '*', 'event', json)
end
local function load_user(key)
  local h = redis.call('HGETALL', key)
  if #h == 0 then return nil end
  local u = {}
  for i = 1, #h, 2 do u[h[i]] = h[i + 1] end
  u.id = tonumber(u.id)
  return u
end
local function event_json(kind, user, now, origin)
  return cjson.encode({ type = kind, user = user, occurredAt = now, origin = origin })
end
`;

// Creates one user unless the email key is taken; shared by create and seed.
const CREATE_FN = `
local function create_user(prefix, name, email, email_key, now, origin, maxlen)
  if redis.call('HEXISTS', KEYS[2], email_key) == 1 then return { 'ALREADY_EXISTS' } end
  local id = redis.call('INCR', KEYS[1])
  local user = { id = id, name = name, email = email, createdAt = now, updatedAt = now }
  redis.call('HSET', prefix .. id, 'id', id, 'name', name, 'email', email,
    'createdAt', now, 'updatedAt', now)
  redis.call('HSET', KEYS[2], email_key, id)
  redis.call('ZADD', KEYS[3], id, id)
  local cursor = append_event(maxlen, event_json('user.created', user, now, origin))
  return { 'OK', cjson.encode(user), cursor }
end
`;

// ARGV: prefix, name, email, emailKey, now, origin, maxlen
// -> { 'OK', userJson, cursor } | { 'ALREADY_EXISTS' }
export const createUserScript = new LuaScript(`${APPEND_EVENT}${CREATE_FN}
return create_user(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]))
`);

// KEYS[6] users:seeded. ARGV: prefix, now, origin, maxlen, then name/email/emailKey triples.
// Seeds once per store, whichever replica starts first: -> number of users created.
export const seedUsersScript = new LuaScript(`${APPEND_EVENT}${CREATE_FN}
if not redis.call('SET', KEYS[6], ARGV[2], 'NX') then return 0 end
local created = 0
for i = 5, #ARGV, 3 do
  local r = create_user(ARGV[1], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[2], ARGV[3], tonumber(ARGV[4]))
  if r[1] == 'OK' then created = created + 1 end
end
return created
`);

// ARGV: prefix, id, name ('' = keep), email ('' = keep), emailKey, now, origin, maxlen
// -> { 'OK', userJson, cursor } | { 'NOT_FOUND' } | { 'ALREADY_EXISTS' }
export const updateUserScript = new LuaScript(`${APPEND_EVENT}
local key = ARGV[1] .. ARGV[2]
local user = load_user(key)
if not user then return { 'NOT_FOUND' } end
if ARGV[4] ~= '' then
  local owner = redis.call('HGET', KEYS[2], ARGV[5])
  if owner and owner ~= ARGV[2] then return { 'ALREADY_EXISTS' } end
  redis.call('HDEL', KEYS[2], string.lower(user.email))
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[2])
  user.email = ARGV[4]
end
if ARGV[3] ~= '' then user.name = ARGV[3] end
user.updatedAt = ARGV[6]
redis.call('HSET', key, 'name', user.name, 'email', user.email, 'updatedAt', user.updatedAt)
local json = cjson.encode(user)
local cursor = append_event(tonumber(ARGV[8]), event_json('user.updated', user, ARGV[6], ARGV[7]))
return { 'OK', json, cursor }
`);

// ARGV: prefix, id, now, origin, maxlen -> { 'OK', userJson, cursor } | { 'NOT_FOUND' }
export const deleteUserScript = new LuaScript(`${APPEND_EVENT}
local key = ARGV[1] .. ARGV[2]
local user = load_user(key)
if not user then return { 'NOT_FOUND' } end
redis.call('DEL', key)
redis.call('HDEL', KEYS[2], string.lower(user.email))
redis.call('ZREM', KEYS[3], ARGV[2])
local json = cjson.encode(user)
local cursor = append_event(tonumber(ARGV[5]), event_json('user.deleted', user, ARGV[3], ARGV[4]))
return { 'OK', json, cursor }
`);
