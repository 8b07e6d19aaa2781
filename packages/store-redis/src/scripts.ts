import { createHash } from 'node:crypto'

/**
 * Lua scripts of the Redis store. Layout per namespace `ns` (the `{ns}` hash tag keeps a
 * namespace on one cluster slot):
 * - `do:{ns}:e:<key>`: a hash `v` (value), `n` (version), `x` (expiresAt, Unix ms, optional), with
 *   `PEXPIREAT ceil(x) - 1`: Redis drops a key once `now > at`, that is exactly when `x <= now`;
 * - `do:{ns}:i`: a sorted set of every key, all scored 0, listed with `ZRANGEBYLEX` (byte order,
 *   no pattern matching; `SCAN MATCH` would read `*`, `?` and `[` in keys as patterns).
 * Time is Redis `TIME` in every script, one clock for every process.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

/** True when the HMGET reply `r` ({v, n, x} or {n, x}) holds a live entry. */
const LIVE = `local function live(present, x) return present and (not x or tonumber(x) > now) end`

/** KEYS: entry keys. Returns per key `{}` (absent) or `{value, version, expiresAt or ''}`. */
export const GET_MANY = `${NOW}
${LIVE}
local out = {}
for i, k in ipairs(KEYS) do
  local r = redis.call('HMGET', k, 'v', 'n', 'x')
  if live(r[1], r[3]) then out[i] = {r[1], tonumber(r[2]), r[3] or ''} else out[i] = {} end
end
return out`

/**
 * KEYS[1]: the index; ARGV: entry key prefix, min, max (ZRANGEBYLEX bounds), limit (-1: none),
 * reverse ('1'/'0'). Returns a flat list key, value, version, expiresAt-or-''. Index members whose
 * entry is gone (expired or evicted by Redis) are removed on the way.
 */
export const LIST = `${NOW}
${LIVE}
local idx, pre, min, max = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local limit, rev = tonumber(ARGV[4]), ARGV[5] == '1'
local out, count, chunk = {}, 0, 256
while limit < 0 or count < limit do
  local members
  if rev then members = redis.call('ZREVRANGEBYLEX', idx, max, min, 'LIMIT', 0, chunk)
  else members = redis.call('ZRANGEBYLEX', idx, min, max, 'LIMIT', 0, chunk) end
  for _, m in ipairs(members) do
    local r = redis.call('HMGET', pre .. m, 'v', 'n', 'x')
    if live(r[1], r[3]) then
      out[#out + 1] = m
      out[#out + 1] = r[1]
      out[#out + 1] = tonumber(r[2])
      out[#out + 1] = r[3] or ''
      count = count + 1
      if limit >= 0 and count >= limit then break end
    elseif not r[1] then
      redis.call('ZREM', idx, m)
    end
  end
  if #members < chunk then break end
  if rev then max = '(' .. members[#members] else min = '(' .. members[#members] end
end
return out`

/**
 * KEYS[1]: the index, KEYS[1 + i]: the entry key of op i. ARGV: 5 per op: kind ('s', 'd', 'c'),
 * ifVersion ('' for none), value, expiresAt ('' for none), key. Checks every condition against the
 * state earlier ops leave, then applies all ops; nothing is written when one fails.
 * Returns `{1, version per op…}` or `{0, conflictKey, actualVersion}`.
 */
export const BATCH = `${NOW}
${LIVE}
local idx, n = KEYS[1], #KEYS - 1
local cur, res = {}, {}
for i = 1, n do
  local b, k = (i - 1) * 5, KEYS[i + 1]
  local v = cur[k]
  if v == nil then
    local r = redis.call('HMGET', k, 'n', 'x')
    if live(r[1], r[2]) then v = tonumber(r[1]) else v = 0 end
  end
  local kind, ifv = ARGV[b + 1], ARGV[b + 2]
  if ifv ~= '' and tonumber(ifv) ~= v then return {0, ARGV[b + 5], v} end
  if kind == 's' then v = v + 1; res[i] = v else res[i] = 0 end
  if kind == 'd' then v = 0 end
  cur[k] = v
end
for i = 1, n do
  local b, k = (i - 1) * 5, KEYS[i + 1]
  local kind, member = ARGV[b + 1], ARGV[b + 5]
  if kind == 's' then
    local x = ARGV[b + 4]
    redis.call('DEL', k)
    if x == '' then
      redis.call('HSET', k, 'v', ARGV[b + 3], 'n', res[i])
    else
      redis.call('HSET', k, 'v', ARGV[b + 3], 'n', res[i], 'x', x)
      redis.call('PEXPIREAT', k, math.ceil(tonumber(x)) - 1)
    end
    redis.call('ZADD', idx, 0, member)
  elseif kind == 'd' then
    redis.call('DEL', k)
    redis.call('ZREM', idx, member)
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

/** Runs `s` by its SHA1, loading it with `EVAL` the first time a server does not know it. */
export const evalScript = async (send: (args: string[]) => Promise<unknown>, s: Script, keys: string[], args: string[]) => {
  try {
    return await send(['EVALSHA', s.sha, String(keys.length), ...keys, ...args])
  } catch (error) {
    if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error
    return send(['EVAL', s.source, String(keys.length), ...keys, ...args])
  }
}
