import { createHash } from 'node:crypto'

/**
 * Lua scripts of the Redis store. Layout per namespace `ns` (the `{ns}` hash tag keeps a
 * namespace on one cluster slot):
 * - `do:{ns}:e:<key>`: a hash `v` (value), `n` (version), `x` (expiresAt, Unix ms, optional), with
 *   `PEXPIREAT ceil(x) - 1`: Redis drops a key once `now > at`, that is exactly when `x <= now`;
 * - `do:{ns}:i`: a sorted set of every key, all scored 0, listed with `ZRANGEBYLEX` (byte order,
 *   no pattern matching; `SCAN MATCH` would read `*`, `?` and `[` in keys as patterns).
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
 * KEYS[1]: the index; ARGV: entry key prefix, min, max (ZRANGEBYLEX bounds), limit (-1: none),
 * reverse ('1'/'0'). Returns a flat list key, value, version, expiresAt-or-''. Index members whose
 * entry is gone (expired or evicted by Redis) are removed on the way.
 */
export const LIST = `${LIVE}
local idx, pre, min, max = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local limit, rev = tonumber(ARGV[4]), ARGV[5] == '1'
local out, count, chunk = {}, 0, 256
while limit < 0 or count < limit do
  local members
  if rev then members = redis.call('ZREVRANGEBYLEX', idx, max, min, 'LIMIT', 0, chunk)
  else members = redis.call('ZRANGEBYLEX', idx, min, max, 'LIMIT', 0, chunk) end
  for _, m in ipairs(members) do
    local r = redis.call('HMGET', pre .. m, 'v', 'n', 'x')
    if live(r[2], r[3]) then
      out[#out + 1] = m
      out[#out + 1] = r[1]
      out[#out + 1] = tonumber(r[2])
      out[#out + 1] = r[3] or ''
      count = count + 1
      if limit >= 0 and count >= limit then break end
    elseif not r[2] then
      redis.call('ZREM', idx, m)
    end
  end
  if #members < chunk then break end
  if rev then max = '(' .. members[#members] else min = '(' .. members[#members] end
end
return out`

/**
 * KEYS[1]: the index, KEYS[1 + i]: the entry key of op i. ARGV[1]: the length of the entry key
 * prefix (an op's key is its entry key without it); then 4 per op: kind ('s', 'd', 'c'), ifVersion
 * ('' for none), value, expiresAt ('' for none). Checks every condition against the state earlier
 * ops leave, then applies all ops; nothing is written when one fails.
 * Returns `{1, version per op…}` or `{0, index of the failing op (from 1), actualVersion}`.
 *
 * Each key is read once (HMGET) and its hash written with as few commands as its state allows:
 * a hash in Redis is always in the index (every script keeps it so), so only a key whose hash is
 * absent needs a ZADD; a DEL before the HSET is only needed to drop an old expiry (field `x` and
 * its TTL) that the new value does not have. A set of an existing key without expiry is thus one
 * HMGET and one HSET.
 */
export const BATCH = `${LIVE}
local idx, n, from = KEYS[1], #KEYS - 1, tonumber(ARGV[1]) + 1
local function member(k) return string.sub(k, from) end
-- Per key: logical version (0 when absent or expired), whether its hash is in Redis (and hence
-- in the index), whether that hash carries an expiry.
local ver, stored, withx, res = {}, {}, {}, {}
for i = 1, n do
  local b, k = (i - 1) * 4 + 1, KEYS[i + 1]
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
  local b, k = (i - 1) * 4 + 1, KEYS[i + 1]
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

export const SCRIPTS = { getMany: script(GET_MANY), list: script(LIST), batch: script(BATCH) }

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
