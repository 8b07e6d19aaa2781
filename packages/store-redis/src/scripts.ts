import { createHash } from 'node:crypto'

/**
 * Lua scripts of the Redis store. Layout per namespace `ns` (the `{ns}` hash tag keeps a
 * namespace on one cluster slot):
 * - `do:{ns}:e:<key>`: a hash `v` (value), `n` (version), `x` (expiresAt, Unix ms, optional), with
 *   `PEXPIREAT ceil(x) - 1`: Redis drops a key once `now > at`, that is exactly when `x <= now`;
 * - `do:{ns}:i`: a sorted set of every key, all scored 0, listed with `ZRANGEBYLEX` (byte order,
 *   no pattern matching; `SCAN MATCH` would read `*`, `?` and `[` in keys as patterns);
 * - `do:{ns}:x`: a sorted set of the keys written with an expiry, scored by it, so that the index
 *   members of entries Redis expired can be found and removed (see SWEEP).
 * Every key a script touches is in its KEYS (Redis scripting rules, and what Redis Cluster routes
 * by): a script never builds a key name. Where the keys are only known from an index (listing,
 * sweeping), the index is read in one call and the entries in the next, with the entry keys declared.
 * Time is Redis `TIME` in every script that needs it, one clock for every process.
 */

/**
 * `live(n, x)`: true when an entry whose HMGET gave version field `n` and expiry field `x` (false
 * when missing) is present and unexpired. Redis `TIME` is read once per script, and only when an
 * entry has an expiry: most writes never need the clock.
 */
const LIVE = `local now
local function live(n, x)
  if not n then return false end
  if not x then return true end
  if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return tonumber(x) > now
end`

/** KEYS: entry keys. Returns per key `{}` (absent) or `{value, version, expiresAt or ''}`. */
export const GET_MANY = `${LIVE}
local out = {}
for i, k in ipairs(KEYS) do
  local r = redis.call('HMGET', k, 'v', 'n', 'x')
  if live(r[2], r[3]) then out[i] = {r[1], tonumber(r[2]), r[3] or ''} else out[i] = {} end
end
return out`

/**
 * One page of a listing, in one call: the entries of the members the previous page read, and the
 * members of the next page. KEYS[1]: the index; KEYS[2..]: the entry keys to read (none on the
 * first call). ARGV: the length of the entry key prefix, min, max (ZRANGEBYLEX bounds, the cursor
 * already applied), how many members to read next (0: none), reverse ('1'/'0').
 *
 * Returns `{entries, members}`: `entries` is flat, 4 per live entry: its position in KEYS[2..]
 * (from 1), value, version, expiresAt or ''; an entry deleted or expired since its member was read
 * is simply left out, and a member whose hash is gone is removed from the index. `members` are the
 * next members in order. Each call reads at most as many entries and members as it is given.
 */
export const LIST = `${LIVE}
local idx, from = KEYS[1], tonumber(ARGV[1]) + 1
local entries = {}
for i = 2, #KEYS do
  local r = redis.call('HMGET', KEYS[i], 'v', 'n', 'x')
  if live(r[2], r[3]) then
    entries[#entries + 1] = i - 1
    entries[#entries + 1] = r[1]
    entries[#entries + 1] = tonumber(r[2])
    entries[#entries + 1] = r[3] or ''
  elseif not r[2] then
    redis.call('ZREM', idx, string.sub(KEYS[i], from))
  end
end
local members, count = {}, tonumber(ARGV[4])
if count > 0 then
  if ARGV[5] == '1' then members = redis.call('ZREVRANGEBYLEX', idx, ARGV[3], ARGV[2], 'LIMIT', 0, count)
  else members = redis.call('ZRANGEBYLEX', idx, ARGV[2], ARGV[3], 'LIMIT', 0, count) end
end
return {entries, members}`

/**
 * KEYS[1]: the index, KEYS[2]: the expiry set. ARGV: min, max (ZRANGEBYLEX bounds), and how many
 * due members to return at most. Returns `{count, due}`: the index members in the range, and
 * members of the expiry set whose expiry has passed (their entries are gone, or the member is
 * stale), which the caller sweeps (SWEEP) before trusting the count.
 */
export const COUNT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
return {redis.call('ZLEXCOUNT', KEYS[1], ARGV[1], ARGV[2]), due}`

/**
 * KEYS[1]: the index, KEYS[2]: the expiry set, KEYS[3..]: entry keys of members the expiry set
 * says are due. ARGV[1]: the length of the entry key prefix. Per key, by what Redis holds now:
 * hash gone (expired or deleted): its member leaves the index and the expiry set; hash without an
 * expiry (rewritten without one): the member leaves the expiry set; hash with an expiry: the
 * member's score is set to it. Returns `{members removed from the index, members changed}`.
 */
export const SWEEP = `local idx, exp, from = KEYS[1], KEYS[2], tonumber(ARGV[1]) + 1
local removed, changed = 0, 0
for i = 3, #KEYS do
  local m = string.sub(KEYS[i], from)
  local r = redis.call('HMGET', KEYS[i], 'n', 'x')
  if not r[1] then
    removed = removed + redis.call('ZREM', idx, m)
    changed = changed + redis.call('ZREM', exp, m)
  elseif not r[2] then
    changed = changed + redis.call('ZREM', exp, m)
  elseif tonumber(redis.call('ZSCORE', exp, m)) ~= tonumber(r[2]) then
    redis.call('ZADD', exp, r[2], m)
    changed = changed + 1
  end
end
return {removed, changed}`

/**
 * KEYS[1]: the index, KEYS[2]: the expiry set, KEYS[2 + i]: the entry key of op i. ARGV[1]: the
 * length of the entry key prefix (an op's key is its entry key without it); then 4 per op: kind ('s', 'd', 'c'), ifVersion
 * ('' for none), value, expiresAt ('' for none). Checks every condition against the state earlier
 * ops leave, then applies all ops; nothing is written when one fails.
 * Returns `{1, version per op…}` or `{0, index of the failing op (from 1), actualVersion}`.
 *
 * Each key is read once (HMGET) and its hash written with as few commands as its state allows:
 * a hash in Redis is always in the index (every script keeps it so), so only a key whose hash is
 * absent needs a ZADD; a DEL before the HSET is only needed to drop an old expiry (field `x` and
 * its TTL) that the new value does not have. A set of an existing key without expiry is thus one
 * HMGET and one HSET. A set with an expiry also scores the key in the expiry set; a member left
 * there by a later set without expiry or a delete is dropped by SWEEP once its time has passed.
 */
export const BATCH = `${LIVE}
local idx, exp, n, from = KEYS[1], KEYS[2], #KEYS - 2, tonumber(ARGV[1]) + 1
local function member(k) return string.sub(k, from) end
-- Per key: logical version (0 when absent or expired), whether its hash is in Redis (and hence
-- in the index), whether that hash carries an expiry.
local ver, stored, withx, res = {}, {}, {}, {}
for i = 1, n do
  local b, k = (i - 1) * 4 + 1, KEYS[i + 2]
  local v = ver[k]
  if v == nil then
    local r = redis.call('HMGET', k, 'n', 'x')
    stored[k], withx[k] = r[1] ~= false, r[2] ~= false
    if live(r[1], r[2]) then v = tonumber(r[1]) else v = 0 end
  end
  local kind, ifv = ARGV[b + 1], ARGV[b + 2]
  if ifv ~= '' and tonumber(ifv) ~= v then return {0, i, v} end
  if kind == 's' then v = v + 1; res[i] = v else res[i] = 0 end
  if kind == 'd' then v = 0 end
  ver[k] = v
end
for i = 1, n do
  local b, k = (i - 1) * 4 + 1, KEYS[i + 2]
  local kind = ARGV[b + 1]
  if kind == 's' then
    -- Formatted here: Redis would print a Lua number with the much slower '%.17g'.
    local x, version = ARGV[b + 4], string.format('%d', res[i])
    if x == '' then
      -- DEL drops both the old field x and the key's TTL (a set without expiry never expires).
      if withx[k] then redis.call('DEL', k) end
      redis.call('HSET', k, 'v', ARGV[b + 3], 'n', version)
    else
      redis.call('HSET', k, 'v', ARGV[b + 3], 'n', version, 'x', x)
      redis.call('PEXPIREAT', k, math.ceil(tonumber(x)) - 1)
      redis.call('ZADD', exp, x, member(k))
    end
    withx[k] = x ~= ''
    if not stored[k] then
      redis.call('ZADD', idx, '0', member(k))
      stored[k] = true
    end
  elseif kind == 'd' and stored[k] then
    redis.call('DEL', k)
    redis.call('ZREM', idx, member(k))
    stored[k], withx[k] = false, false
  end
end
local out = {1}
for i = 1, n do out[i + 1] = res[i] end
return out`

export interface Script {
  source: string
  sha: string
}

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') })

export const SCRIPTS = { getMany: script(GET_MANY), list: script(LIST), batch: script(BATCH), count: script(COUNT), sweep: script(SWEEP) }

/**
 * Runs `command` (`['EVALSHA', s.sha, numkeys, …keys, …args]`, built by the caller in one array),
 * loading the script with `EVAL` the first time a server does not know it.
 */
export const evalScript = (send: (args: string[]) => Promise<unknown>, s: Script, command: string[]): Promise<unknown> =>
  send(command).catch((error) => {
    if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error
    const retry = command.slice()
    retry[0] = 'EVAL'
    retry[1] = s.source
    return send(retry)
  })
