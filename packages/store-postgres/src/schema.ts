/**
 * The store's tables and its batch function, as versioned migrations, and the SQL of every call.
 *
 * Names are quoted identifiers in the schema the user picked (default `public`). Objects carry a
 * version suffix when their shape matters to running code (`do_batch_v1`): migration 2 added
 * `do_batch_v2` beside it, so processes of the old release keep working during a rolling deploy.
 */

/** `"name"`, with `"` doubled. */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`

/** Distinct keys of a call above which it locks the whole namespace instead of each key. */
export const EXCLUSIVE_KEYS = 256

/** One migration: applied once per schema, in version order, inside the migration transaction. */
export interface Migration {
  version: number
  name: string
  sql: (schema: string) => string
}

/**
 * plpgsql shared by the batch functions: refuse an isolation level other than READ COMMITTED (each
 * statement must see what the lock holders before it committed), then, for a call of more than
 * {@link EXCLUSIVE_KEYS} keys (`p_exclusive`), lock the namespace exclusively. Ends inside that `IF`.
 */
const READ_COMMITTED_OR_EXCLUSIVE = `  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'do-sdk: the store needs READ COMMITTED, this transaction is %', current_setting('transaction_isolation')
      USING ERRCODE = '0A000';
  END IF;
  IF p_exclusive THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('do-sdk:ns:' || p_ns, 0));
`

/** plpgsql, one statement: the namespace's lock (shared), then each distinct key's lock, in ascending id order. */
const KEY_LOCKS = `    PERFORM CASE WHEN l.o = 0 THEN pg_advisory_xact_lock_shared(l.h) ELSE pg_advisory_xact_lock(l.h) END
      FROM (SELECT 0 AS o, hashtextextended('do-sdk:ns:' || p_ns, 0) AS h
            UNION
            SELECT 1, hashtextextended(k, v_seed) FROM unnest(p_key) AS k
            ORDER BY 1, 2) AS l;
`

/**
 * The batch function. Its arguments are parallel arrays, one element per distinct key of each batch
 * (built by `batch-plan.ts`): segment, batch number, encoded key, the live version the batch's
 * conditions require (-1: none), what to write (0 nothing, 1 set at live version + n, 2 set at
 * version n, 3 delete), n, value and expiry.
 *
 * 1. Locks: a transaction-level advisory lock per distinct key, in sorted order (so two batches can
 *    never deadlock), under a shared lock on the namespace; a group with more than
 *    {@link EXCLUSIVE_KEYS} distinct keys (`p_exclusive`) takes the namespace lock exclusively
 *    instead, so a huge batch never fills the lock table.
 *    Every write holds its key's lock, so a batch's check of an absent key holds until it commits:
 *    batches are serializable against each other, not only against writers of existing rows.
 * 2. Per segment (batches of one segment touch disjoint keys; segments apply in order, so a later
 *    batch sees the writes of an earlier one), one statement reads every key's live version, and
 *    writes the final state of each key of each batch whose conditions all hold, in the same
 *    statement (data-modifying CTEs). A batch whose conditions fail writes nothing.
 * 3. Returns the live version each row found, comma-separated, in row order: the client replays
 *    each batch's ops against them to know its result (`versions` or the first failing condition).
 *
 * Its statements are planned with sequential and bitmap scans off: plpgsql caches their plans per
 * session, and a plan made while the table was tiny would scan a whole namespace per key forever.
 *
 * Runs in the caller's statement, so it needs READ COMMITTED (each statement below then sees what
 * the lock holders before it committed); it refuses any other isolation level.
 */
const batchFunction = (s: string) => `
CREATE FUNCTION ${s}.do_batch_v1(
  p_ns text, p_exclusive boolean, p_seg int[], p_batch int[], p_key text[], p_req bigint[], p_kind smallint[], p_n bigint[],
  p_val text[], p_exp float8[]
) RETURNS text LANGUAGE plpgsql VOLATILE
-- Plans inside are cached per session, often while the table is still tiny, where scanning a whole
-- namespace looks as cheap as a key lookup; a cached scan then grows with the table. Key lookups only.
SET enable_seqscan = off SET enable_bitmapscan = off
AS $fn$
DECLARE
  v_now float8 := extract(epoch FROM clock_timestamp()) * 1000;
  v_seed bigint := hashtext(p_ns);
  v_out bigint[] := '{}';
  v_part bigint[];
  v_segments int := coalesce(p_seg[array_length(p_seg, 1)], 0);
BEGIN
${READ_COMMITTED_OR_EXCLUSIVE}  ELSE
    -- One statement: the namespace (shared) first, then each key's lock in sorted order.
${KEY_LOCKS}  END IF;
  FOR seg IN 0..v_segments LOOP
    WITH r AS (
      SELECT u.i, u.b, u.k, u.q, u.kind, u.n, u.val, u.exp, coalesce(e.version, 0) AS v
      FROM unnest(p_seg, p_batch, p_key, p_req, p_kind, p_n, p_val, p_exp) WITH ORDINALITY AS u(s, b, k, q, kind, n, val, exp, i)
      LEFT JOIN ${s}.do_entries AS e
        ON e.ns = p_ns AND e.key = u.k AND (e.expires_at IS NULL OR e.expires_at > v_now)
      WHERE u.s = seg
    ),
    b AS (SELECT r.*, count(*) FILTER (WHERE r.q >= 0 AND r.q <> r.v) OVER (PARTITION BY r.b) AS bad FROM r),
    ok AS (SELECT * FROM b WHERE bad = 0 AND kind > 0),
    up AS (
      INSERT INTO ${s}.do_entries AS e (ns, key, value, version, expires_at)
      SELECT p_ns, ok.k, ok.val, CASE WHEN ok.kind = 1 THEN ok.v + ok.n ELSE ok.n END, ok.exp
      FROM ok WHERE ok.kind IN (1, 2)
      ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at
    ),
    del AS (DELETE FROM ${s}.do_entries AS e USING ok WHERE ok.kind = 3 AND e.ns = p_ns AND e.key = ok.k)
    -- A segment's rows are consecutive in the arrays: appending keeps the row order.
    SELECT array_agg(r.v ORDER BY r.i) INTO v_part FROM r;
    v_out := v_out || v_part;
  END LOOP;
  RETURN array_to_string(v_out, ',');
END
$fn$`

/** Keys of a call up to which `do_batch_v2` sorts its lock ids itself (simple expressions, no query). */
export const LOOP_SORT_KEYS = 32

/**
 * The batch function, second version: same arguments, result, locks and semantics as
 * {@link batchFunction} (the two run side by side during a rolling deploy and exclude each other:
 * same lock ids, same order), written to cost less per call, which is most of a batch's time on a
 * fast server:
 * - up to {@link LOOP_SORT_KEYS} keys, the lock ids are computed, sorted and taken with plpgsql
 *   simple expressions (no query, no executor start-up); more keys take v1's one statement;
 * - each segment reads its keys' live versions one primary-key lookup each, then writes each key of
 *   the batches whose conditions all hold with one `INSERT … ON CONFLICT` or `DELETE`: a few
 *   single-row statements start up faster than v1's data-modifying CTEs.
 * Measured with pgbench on one connection, a step's batch (2 checks and a set): 0.17 ms → 0.14 ms
 * of server time with asynchronous commit.
 */
const batchFunctionV2 = (s: string) => `
CREATE FUNCTION ${s}.do_batch_v2(
  p_ns text, p_exclusive boolean, p_seg int[], p_batch int[], p_key text[], p_req bigint[], p_kind smallint[], p_n bigint[],
  p_val text[], p_exp float8[]
) RETURNS text LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off SET enable_bitmapscan = off
AS $fn$
DECLARE
  v_now float8 := extract(epoch FROM clock_timestamp()) * 1000;
  v_seed bigint := hashtext(p_ns);
  v_len int := coalesce(array_length(p_key, 1), 0);
  v_found bigint[] := array_fill(0::bigint, ARRAY[v_len]);
  v_ids bigint[];
  v_bad boolean[];
  v_start int := 1;
  v_end int;
  i int;
  j int;
  v bigint;
BEGIN
${READ_COMMITTED_OR_EXCLUSIVE}  ELSIF v_len > ${LOOP_SORT_KEYS} THEN
${KEY_LOCKS}  ELSE
    -- The namespace (shared) first, then each distinct key's lock in ascending id order, as v1.
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('do-sdk:ns:' || p_ns, 0));
    v_ids := array_fill(0::bigint, ARRAY[v_len]);
    FOR i IN 1..v_len LOOP
      v := hashtextextended(p_key[i], v_seed);
      j := i - 1;
      WHILE j >= 1 AND v_ids[j] > v LOOP
        v_ids[j + 1] := v_ids[j];
        j := j - 1;
      END LOOP;
      v_ids[j + 1] := v;
    END LOOP;
    FOR i IN 1..v_len LOOP
      CONTINUE WHEN i > 1 AND v_ids[i] = v_ids[i - 1];
      PERFORM pg_advisory_xact_lock(v_ids[i]);
    END LOOP;
  END IF;
  -- Segments are runs of consecutive rows; each reads its live versions, then writes.
  WHILE v_start <= v_len LOOP
    v_end := v_start;
    WHILE v_end < v_len AND p_seg[v_end + 1] = p_seg[v_start] LOOP
      v_end := v_end + 1;
    END LOOP;
    v_bad := '{}';
    FOR i IN v_start..v_end LOOP
      SELECT e.version INTO v FROM ${s}.do_entries AS e
        WHERE e.ns = p_ns AND e.key = p_key[i] AND (e.expires_at IS NULL OR e.expires_at > v_now);
      v_found[i] := coalesce(v, 0);
      IF p_req[i] >= 0 AND p_req[i] <> v_found[i] THEN
        v_bad[p_batch[i] + 1] := true;
      END IF;
    END LOOP;
    FOR i IN v_start..v_end LOOP
      CONTINUE WHEN p_kind[i] = 0 OR coalesce(v_bad[p_batch[i] + 1], false);
      IF p_kind[i] = 3 THEN
        DELETE FROM ${s}.do_entries AS e WHERE e.ns = p_ns AND e.key = p_key[i];
      ELSE
        INSERT INTO ${s}.do_entries AS e (ns, key, value, version, expires_at)
        VALUES (p_ns, p_key[i], p_val[i], CASE WHEN p_kind[i] = 1 THEN v_found[i] + p_n[i] ELSE p_n[i] END, p_exp[i])
        ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at;
      END IF;
    END LOOP;
    v_start := v_end + 1;
  END LOOP;
  RETURN array_to_string(v_found, ',');
END
$fn$`

/** Every migration, in order. Never edit one that shipped: add the next. */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'entries table, expiry index, batch function',
    sql: (s) => `
CREATE TABLE ${s}.do_entries (
  ns text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  value text NOT NULL,
  version bigint NOT NULL,
  expires_at float8,
  PRIMARY KEY (ns, key)
) WITH (fillfactor = 90);
CREATE INDEX do_entries_expiry ON ${s}.do_entries (ns, expires_at) WHERE expires_at IS NOT NULL;
${batchFunction(s)};`,
  },
  { version: 2, name: 'batch function v2: the same batch at a lower cost per call', sql: (s) => `${batchFunctionV2(s)};` },
]

/** The latest schema version this release needs. */
export const SCHEMA_VERSION = (MIGRATIONS[MIGRATIONS.length - 1] as Migration).version

/** The SQL of every call, for one schema. `$1` is always the namespace. */
export const statements = (s: string) => {
  const table = `${s}.do_entries`
  const live = '(expires_at IS NULL OR expires_at > extract(epoch FROM clock_timestamp()) * 1000)'
  const columns = 'key, value, version, expires_at'
  const list = (upper: boolean, reverse: boolean) =>
    `SELECT ${columns} FROM ${table} WHERE ns = $1 AND key >= $2${upper ? ' AND key < $4' : ''} AND ${live}
     ORDER BY key ${reverse ? 'DESC' : 'ASC'} LIMIT $3`
  return {
    get: `SELECT value, version, expires_at FROM ${table} WHERE ns = $1 AND key = $2 AND ${live}`,
    getMany: `SELECT ${columns} FROM ${table} WHERE ns = $1 AND key = ANY($2::text[]) AND ${live}`,
    /** `[upper bound given][reverse]`: four fixed texts, so each can be a prepared statement. */
    list: [
      [list(false, false), list(false, true)],
      [list(true, false), list(true, true)],
    ] as const,
    count: [
      `SELECT count(*)::float8 AS n FROM ${table} WHERE ns = $1 AND key >= $2 AND ${live}`,
      `SELECT count(*)::float8 AS n FROM ${table} WHERE ns = $1 AND key >= $2 AND key < $3 AND ${live}`,
    ] as const,
    batch: `SELECT ${s}.do_batch_v2($1, $2, $3::int[], $4::int[], $5::text[], $6::bigint[], $7::smallint[], $8::bigint[], $9::text[], $10::float8[]) AS v`,
    now: 'SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now',
    notify: 'SELECT pg_notify($1, $2)',
    /** Deletes up to `$2` expired rows of the namespace; rows another transaction holds are left for the next round. */
    sweep: `DELETE FROM ${table} WHERE ns = $1 AND key IN (
      SELECT key FROM ${table} WHERE ns = $1 AND expires_at <= extract(epoch FROM clock_timestamp()) * 1000
      LIMIT $2 FOR UPDATE SKIP LOCKED) AND expires_at <= extract(epoch FROM clock_timestamp()) * 1000`,
    /** The schema version, or an error `42P01` when the migrations table does not exist yet. */
    schemaVersion: `SELECT coalesce(max(version), 0) AS v FROM ${s}.do_migrations`,
  }
}

export type Statements = ReturnType<typeof statements>
