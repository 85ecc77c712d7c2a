import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { Catalog } from '../catalog/types.js';
import type { Row } from '../types.js';
import { type EncodedStaging, encodeStaging, type StageBatch, stagingCopyColumns } from './copy-text.js';
import { catalogTables, fieldColumns } from './ddl.js';
import { ident } from './ident.js';
import type { Warehouse } from './open.js';

export type { StageBatch } from './copy-text.js';

/**
 * Puts valid rows (with `key` and `hash` set) of a batch into the catalog's staging table.
 * Re-staging the same rows is harmless: the call first deletes the batch's staged rows in its row-number
 * range, in the same transaction. PostgreSQL gets COPY FROM STDIN (pg-copy-streams); PGlite gets COPY
 * from a Blob (`/dev/blob`), both in COPY text format.
 */
export async function stageRows(
  wh: Warehouse,
  catalog: Catalog,
  batch: StageBatch,
  rows: Row[],
  into?: ScratchStaging,
): Promise<number> {
  if (rows.length === 0) return 0;
  return stageEncoded(wh, catalog, batch.id, encodeStaging(catalog, batch, rows), into);
}

/**
 * Writes rows already encoded by `encodeStaging` (e.g. in a worker thread) into the staging table, or into
 * a scratch copy of it (`into`, through its own transaction).
 */
export async function stageEncoded(
  wh: Warehouse,
  catalog: Catalog,
  batchId: string,
  enc: EncodedStaging,
  into?: ScratchStaging,
): Promise<number> {
  if (enc.count === 0) return 0;
  const staging = into?.table ?? catalogTables(catalog).staging;
  const copySql = `COPY ${ident(staging)} (${stagingCopyColumns(catalog).map(ident).join(', ')}) FROM STDIN`;
  await (into?.wh ?? wh).knex.transaction(async (trx) => {
    await trx.raw(`DELETE FROM ${ident(staging)} WHERE batch_id = ? AND row_number BETWEEN ? AND ?`, [
      batchId,
      enc.lo,
      enc.hi,
    ]);
    if (wh.kind === 'postgres') {
      // A transaction's client hands out the transaction's own connection: delete and copy commit together.
      const conn = await trx.client.acquireConnection();
      const { default: pgCopy } = await import('pg-copy-streams'); // PostgreSQL only: PGlite never loads it
      const sink = (conn as { query(s: unknown): NodeJS.WritableStream }).query(pgCopy.from(copySql));
      const data = enc.data;
      await pipeline(
        Readable.from(
          typeof data === 'string' ? pieces(data) : [Buffer.from(data.buffer, data.byteOffset, data.byteLength)],
        ),
        sink,
      );
    } else {
      await trx.raw(copySql.replace('FROM STDIN', "FROM '/dev/blob'")).options({ blob: new Blob([enc.data]) });
    }
  });
  return enc.count;
}

/** Splits COPY text into writes of about 1 MB at line ends (one huge write would sit in memory twice). */
function* pieces(text: string): Generator<string> {
  const size = 1 << 20;
  let from = 0;
  while (from < text.length) {
    let to = Math.min(text.length, from + size);
    if (to < text.length) {
      const nl = text.indexOf('\n', to);
      to = nl < 0 ? text.length : nl + 1;
    }
    yield text.slice(from, to);
    from = to;
  }
}

/** Rows of a batch that repeat a key seen earlier in it: later[i] first came at early[i] (0: unknown). */
export interface RepeatedKeys {
  later: readonly number[];
  early: readonly number[];
}

export interface MergeOptions {
  /**
   * The batch's repeated keys, if known (pipelines/key-index.ts): the dedup then looks at those rows and
   * their first rows only, instead of grouping every staged row by key.
   */
  repeats?: RepeatedKeys;
  /** Winners merged per transaction (a range of row numbers this wide). Default 50,000. */
  chunkRows?: number;
  /** Ranges merged at once on PostgreSQL (separate connections and transactions). Default 2. */
  concurrency?: number;
  onProgress?: (p: { mergedRows: number; firstRow: number; lastRow: number; lastRowOfBatch: number }) => void;
}

export interface MergeResult {
  inserted: number;
  updated: number;
  unchanged: number;
  duplicate: number;
  /**
   * Losers whose content differed from the winner's (the pipeline warns DUPLICATE_DIFFERS on them; they
   * are read a page at a time with `differingDuplicates`, as there may be as many as half the rows).
   */
  duplicateWarnings: number;
  /** Milliseconds of the steps: batch-wide dedup, the range merges, removing the staged rows. */
  timings: Record<string, number>;
}

/**
 * Memory for the merge's hashes and sorts. PostgreSQL gives it back after the statement; PGlite's memory is
 * the WebAssembly heap of this process, which never shrinks, so there a large work_mem would stay as RSS
 * (the embedded 1M-row ingest peaked at 675 MB): it spills to its files instead.
 */
export function workMem(wh: Warehouse): string {
  return wh.kind === 'postgres' ? '256MB' : '16MB';
}

/**
 * Settings for the rest of a transaction (SET LOCAL), all in one statement: a round trip each cost ~10 ms
 * on PGlite, several per merged range.
 */
export async function setLocal(trx: Knex.Transaction, settings: Record<string, string>): Promise<void> {
  const names = Object.keys(settings);
  await trx.raw(
    `SELECT ${names.map(() => 'set_config(?, ?, true)').join(', ')}`,
    names.flatMap((n) => [n, settings[n] as string]),
  );
}

export function num(v: unknown): number {
  return v === null || v === undefined ? 0 : Number(v);
}

/**
 * Merges every staged row of a batch into the catalog table. Call it once all rows are staged.
 *
 * 1. Dedup over the whole batch: among rows with one record_key only the highest row number is merged
 *    ("the last valid one wins"); the losers are recorded in merge_duplicates and removed from staging,
 *    in one transaction.
 * 2. The winners are merged in row-number ranges, one transaction and one statement per range
 *    (`mergeStatement`): the current version of each record whose hash changed is copied to
 *    `<table>_history` and the record updated, new records are inserted, unchanged ones are not written
 *    (an all-unchanged re-load writes nothing). A range that meets another session writing the same
 *    records is merged again with `mergeStatementOnConflict`. The range's counts go to merge_chunks in the
 *    same transaction. The batch's staged rows are deleted at the end.
 *
 * Re-running after a crash (even with the batch staged again from the file) counts every row once:
 * staged rows inside ranges already in merge_chunks, and recorded losers, are dropped first; the result
 * is summed from merge_chunks and merge_duplicates, which only ever hold committed work.
 */
export async function mergeBatch(
  wh: Warehouse,
  catalog: Catalog,
  batchId: string,
  opts: MergeOptions = {},
): Promise<MergeResult> {
  const chunkRows = Math.max(1, opts.chunkRows ?? 50_000);
  const t = catalogTables(catalog);
  const S = ident(t.staging);
  const knex = wh.knex;

  const timings: Record<string, number> = {};
  let t0 = performance.now();
  await knex.transaction(async (trx) => {
    // Hash the batch's keys in memory: staging statistics are usually stale here, and a sort of the whole
    // batch spilling to disk costs seconds.
    // The enable_* switches add a huge cost, which would make PostgreSQL JIT-compile (with LLVM
    // optimisation) a statement that runs once: measured as most of the merge time. No JIT here.
    await setLocal(trx, { work_mem: workMem(wh), enable_sort: 'off', jit: 'off' });
    await trx.raw(
      `DELETE FROM ${S} s USING merge_chunks c
       WHERE c.batch_id = ? AND s.batch_id = c.batch_id AND s.row_number BETWEEN c.first_row AND c.last_row`,
      [batchId],
    );
    if (opts.repeats) await insertRepeatLosers(trx, S, batchId, opts.repeats);
    else {
      await trx.raw(
        `WITH g AS (
           SELECT s.row_number, s.record_key, s.content_hash FROM ${S} s
           JOIN (SELECT record_key FROM ${S} WHERE batch_id = :batch GROUP BY record_key HAVING count(*) > 1) d
             ON d.record_key = s.record_key
           WHERE s.batch_id = :batch
         )
         ${losersSql('g')}`,
        { batch: batchId },
      );
    }
    await trx.raw(
      `DELETE FROM ${S} s USING merge_duplicates d
       WHERE d.batch_id = ? AND s.batch_id = d.batch_id AND s.row_number = d.row_number`,
      [batchId],
    );
  });

  timings.dedup = performance.now() - t0;
  t0 = performance.now();
  const range = (
    await knex.raw(`SELECT min(row_number) AS lo, max(row_number) AS hi FROM ${S} WHERE batch_id = ?`, [batchId])
  ).rows[0] as { lo: number | null; hi: number | null };
  if (range.lo !== null && range.hi !== null) {
    const fastSql = mergeStatement(catalog);
    const safeSql = mergeStatementOnConflict(catalog);
    const lo = num(range.lo);
    const hi = num(range.hi);
    const ranges: Array<[number, number]> = [];
    for (let from = lo; from <= hi; from += chunkRows) ranges.push([from, Math.min(hi, from + chunkRows - 1)]);
    let mergedRows = 0;
    const mergeRange = async (from: number, to: number) => {
      const r = await mergeRangeRetrying((fn) => knex.transaction(fn), wh, { fast: fastSql, safe: safeSql }, batchId, {
        from,
        to,
        chunk: true,
      });
      mergedRows += r.winners;
      opts.onProgress?.({ mergedRows, firstRow: from, lastRow: to, lastRowOfBatch: hi });
    };
    // Ranges hold distinct keys (duplicates were settled above), so they can merge side by side on
    // PostgreSQL; PGlite has one connection.
    const lanes = wh.kind === 'postgres' ? Math.max(1, opts.concurrency ?? 2) : 1;
    let next = 0;
    let failed = false;
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(lanes, ranges.length) }, async () => {
        while (!failed && next < ranges.length) {
          const [from, to] = ranges[next++] as [number, number];
          try {
            await mergeRange(from, to);
          } catch (e) {
            failed = true; // the other lane finishes its range and stops: nothing runs on after we return
            throw e;
          }
        }
      }),
    );
    const error = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (error) throw error.reason;
  }

  timings.ranges = performance.now() - t0;
  t0 = performance.now();
  // Staged rows of merged ranges are dead weight now (a re-run would drop them anyway, see above).
  await clearStaged(wh, S, batchId);

  const result = await mergedCounts(knex, batchId);
  timings.cleanup = performance.now() - t0;
  return { ...result, timings };
}

/** The temporary table of a transaction that holds its batch's repeated rows (row_number, early_row). */
export const LATER_ROWS = 'merge_later_rows';

/** Creates LATER_ROWS in the transaction (dropped at its end). */
export async function createLaterRows(trx: Knex.Transaction): Promise<void> {
  await trx.raw(
    `CREATE TEMPORARY TABLE ${ident(LATER_ROWS)} (row_number integer PRIMARY KEY, early_row integer NOT NULL) ON COMMIT DROP`,
  );
}

/** Adds repeated rows to LATER_ROWS: integer lists as text, the same on both drivers, one parameter each. */
export async function addLaterRows(trx: Knex.Transaction, rows: RepeatedKeys): Promise<void> {
  if (rows.later.length === 0) return;
  await trx.raw(
    `INSERT INTO ${ident(LATER_ROWS)} (row_number, early_row)
     SELECT * FROM unnest(string_to_array(?, ',')::integer[], string_to_array(?, ',')::integer[])
     ON CONFLICT (row_number) DO NOTHING`,
    [rows.later.join(','), rows.early.join(',')],
  );
}

/**
 * Records as duplicates (merge_duplicates) every row of a repeated key but the highest: `rows` names a
 * relation of (row_number, record_key, content_hash) holding every row of the keys it is about. Named
 * binding: batch. Every dedup (batch-wide, from known repeats, at the end of a merge while staging) ends here.
 */
export function losersSql(rows: string): string {
  return `INSERT INTO merge_duplicates (batch_id, row_number, winner_row, differs)
SELECT :batch, x.row_number, x.winner_row, x.content_hash <> x.winner_hash
FROM (
  SELECT g.row_number, g.content_hash,
         first_value(g.row_number) OVER w AS winner_row,
         first_value(g.content_hash) OVER w AS winner_hash
  FROM ${rows} g
  WINDOW w AS (PARTITION BY g.record_key ORDER BY g.row_number DESC)
) x
WHERE x.row_number <> x.winner_row
ON CONFLICT (batch_id, row_number) DO NOTHING`;
}

/**
 * The first row of a repeated key (its row `earlyRow`, if it holds `recordKey`: a print shared by two keys
 * names a first row of another key) as `x` (row_number, record_key, content_hash): a LATERAL join into
 * staging `S` through its index, since staging's statistics are stale. Named binding: batch.
 */
export function firstRowJoin(S: string, earlyRow: string, recordKey: string): string {
  return `CROSS JOIN LATERAL (
         SELECT e.row_number, e.record_key, e.content_hash FROM ${S} e
         WHERE e.batch_id = :batch AND e.row_number = ${earlyRow} AND e.record_key = ${recordKey} OFFSET 0
       ) x`;
}

/**
 * The dedup from known repeats, with every row still staged: the repeated rows and the first rows of
 * their keys (a first row holding another key, its print shared, is left out) are all the rows of the
 * batch's repeated keys. Staging's statistics are stale: each row is reached through its index.
 */
async function insertRepeatLosers(trx: Knex.Transaction, S: string, batchId: string, repeats: RepeatedKeys) {
  if (repeats.later.length === 0) return;
  await createLaterRows(trx);
  await addLaterRows(trx, repeats);
  await trx.raw(
    `WITH l AS MATERIALIZED (
       SELECT x.row_number, x.record_key, x.content_hash, r.early_row FROM ${ident(LATER_ROWS)} r
       CROSS JOIN LATERAL (
         SELECT s.row_number, s.record_key, s.content_hash FROM ${S} s
         WHERE s.batch_id = :batch AND s.row_number = r.row_number OFFSET 0
       ) x
     ),
     e AS MATERIALIZED (
       SELECT DISTINCT x.row_number, x.record_key, x.content_hash FROM l
       ${firstRowJoin(S, 'l.early_row', 'l.record_key')}
     ),
     g AS (SELECT row_number, record_key, content_hash FROM l UNION ALL SELECT * FROM e)
     ${losersSql('g')}`,
    { batch: batchId },
  );
}

/** A batch's outcomes so far, summed from what its merge committed (merge_chunks, merge_duplicates). */
export async function mergedCounts(knex: Knex, batchId: string): Promise<Omit<MergeResult, 'timings'>> {
  const sums = (
    await knex.raw(
      `SELECT sum(inserted) AS inserted, sum(updated) AS updated, sum(unchanged) AS unchanged
       FROM merge_chunks WHERE batch_id = ?`,
      [batchId],
    )
  ).rows[0] as Record<string, unknown>;
  const dups = (
    await knex.raw(
      'SELECT count(*) AS losers, count(*) FILTER (WHERE differs) AS differing FROM merge_duplicates WHERE batch_id = ?',
      [batchId],
    )
  ).rows[0] as Record<string, unknown>;
  return {
    inserted: num(sums.inserted),
    updated: num(sums.updated),
    unchanged: num(sums.unchanged),
    duplicate: num(dups.losers),
    duplicateWarnings: num(dups.differing),
  };
}

/** What one range merge wrote. */
export interface RangeCounts {
  winners: number;
  inserted: number;
  updated: number;
}

/**
 * Merges the staged rows `from`..`to` of a batch with `sqls.fast` in a transaction (or savepoint) that
 * `run` opens, and if that met another session writing the same records, rolls it back and merges the
 * range again with `sqls.safe`. `chunk`: record the range's counts in merge_chunks, in the same
 * transaction.
 */
export async function mergeRangeRetrying(
  run: <T>(fn: (trx: Knex.Transaction) => Promise<T>) => Promise<T>,
  wh: Warehouse,
  sqls: { fast: string; safe: string },
  batchId: string,
  range: { from: number; to: number; chunk: boolean },
): Promise<RangeCounts> {
  const mergeIn = (sql: string, fast: boolean) =>
    run(async (trx) => {
      // Probe the table's primary key per staged row: the cost then follows the chunk, not the size of
      // the whole warehouse (a hash join would scan every record of the table for every chunk).
      // The fast statement reaches rows by ctid; with stale statistics the planner may scan instead.
      // `cand` is materialised once per chunk: keep it in memory rather than in temp files.
      await setLocal(trx, {
        enable_hashjoin: 'off',
        enable_mergejoin: 'off',
        enable_seqscan: fast ? 'off' : 'on',
        jit: 'off',
        work_mem: workMem(wh),
      });
      const r = (await trx.raw(sql, { batch: batchId, from: range.from, to: range.to })).rows[0] as Record<
        string,
        unknown
      >;
      const counts = { winners: num(r.winners), inserted: num(r.inserted), updated: num(r.updated) };
      if (counts.winners === 0) return counts;
      // A record changed by another session since this statement's snapshot is skipped by the UPDATE.
      if (fast && num(r.updated) !== num(r.changed)) throw new MergeRaced();
      if (range.chunk) {
        await trx.raw(
          `INSERT INTO merge_chunks (batch_id, first_row, last_row, inserted, updated, unchanged)
           VALUES (?, ?, ?, ?, ?, ?)`,
          [
            batchId,
            range.from,
            range.to,
            counts.inserted,
            counts.updated,
            counts.winners - counts.inserted - counts.updated,
          ],
        );
      }
      return counts;
    });
  try {
    return await mergeIn(sqls.fast, true);
  } catch (e) {
    // Another batch wrote one of these records meanwhile: the range again, row by row under ON CONFLICT.
    if (!(e instanceof MergeRaced) && (e as { code?: unknown }).code !== UNIQUE_VIOLATION) throw e;
    return await mergeIn(sqls.safe, false);
  }
}

/**
 * A page of a merged batch's losers whose content differs from their winner's, in row order after
 * `afterRow` (keyset paging: pass the last row number of the page before).
 */
export async function differingDuplicates(
  wh: Warehouse,
  batchId: string,
  afterRow = 0,
  limit = 2000,
): Promise<Array<{ rowNumber: number; winnerRow: number }>> {
  const rows = (
    await wh.knex.raw(
      `SELECT row_number, winner_row FROM merge_duplicates
       WHERE batch_id = ? AND differs AND row_number > ? ORDER BY row_number LIMIT ?`,
      [batchId, afterRow, limit],
    )
  ).rows as Array<{ row_number: number; winner_row: number }>;
  return rows.map((d) => ({ rowNumber: num(d.row_number), winnerRow: num(d.winner_row) }));
}

/**
 * Removes a merged batch's staged rows. When no other batch has rows staged, TRUNCATE: instant, and it
 * leaves no dead rows behind (a DELETE of a million staged rows took ~0.9 s and left ~700 MB for vacuum
 * to reclaim before the next batch). Under the table lock nobody stages meanwhile; if the lock is not
 * free at once (another batch is staging), the batch's rows are deleted as before.
 */
export async function clearStaged(wh: Warehouse, S: string, batchId: string): Promise<void> {
  const truncated = await wh.knex
    .transaction(async (trx) => {
      // The check below must probe the index: the staging table is rarely analyzed (it is emptied after
      // every batch), and a sequential scan of a million staged rows took ~0.5 s.
      await setLocal(trx, { lock_timeout: '200ms', enable_seqscan: 'off' });
      await trx.raw(`LOCK TABLE ${S} IN ACCESS EXCLUSIVE MODE`);
      const r = await trx.raw(
        `SELECT EXISTS (SELECT 1 FROM ${S} WHERE batch_id < ?) OR EXISTS (SELECT 1 FROM ${S} WHERE batch_id > ?) AS other`,
        [batchId, batchId],
      );
      if ((r.rows[0] as { other: boolean }).other) return false;
      await trx.raw(`TRUNCATE ${S}`);
      return true;
    })
    .catch(() => false); // the lock was busy: delete instead
  if (!truncated) await wh.knex.raw(`DELETE FROM ${S} WHERE batch_id = ?`, [batchId]);
}

/** Thrown inside a range's transaction to roll it back when the fast statement met a concurrent writer. */
class MergeRaced extends Error {}

const UNIQUE_VIOLATION = '23505';

/** The tables and column lists both merge statements use. */
export function mergeParts(catalog: Catalog, staging?: string) {
  const t = catalogTables(catalog);
  const fields = fieldColumns(catalog).map((c) => ident(c.name));
  const main = [
    '"record_key"',
    ...fields,
    '"subject_key"',
    '"content_hash"',
    '"version"',
    '"county"',
    '"batch_id"',
    '"source_file"',
    '"source_sheet"',
    '"source_row"',
    '"first_loaded_at"',
    '"updated_at"',
  ];
  const fromStaged = [
    's.record_key',
    ...fields.map((f) => `s.${f}`),
    's.subject_key',
    's.content_hash',
    '1',
    's.county',
    's.batch_id',
    's.source_file',
    's.source_sheet',
    's.row_number',
    'now()',
    'now()',
  ];
  // What an update overwrites, each from the staged row (`source_row` from its row number).
  const overwritten = [
    ...fields,
    '"subject_key"',
    '"content_hash"',
    '"county"',
    '"batch_id"',
    '"source_file"',
    '"source_sheet"',
  ];
  return { M: ident(t.main), H: ident(t.history), S: ident(staging ?? t.staging), main, fromStaged, overwritten };
}

/**
 * One statement per chunk (named bindings: batch, from, to), probing the catalog table once per staged
 * row. `cand` holds, for each staged row of the range, where it is (ctid) and where the record's current
 * version is, if any; then `hist` archives the current version of every record that changes, `ins`
 * inserts the new records with a plain INSERT, and `upd` updates the changed ones in place by ctid.
 * Unchanged rows write nothing. Data-modifying CTEs all see the snapshot before the statement, so `hist`
 * copies the old versions.
 *
 * Measured on 1M staged rows (bench/CHOICES.md): 25–50 % less time than `mergeStatementOnConflict`, which
 * looks a record up three times (archive, unchanged filter, ON CONFLICT). The price is that it relies on
 * its snapshot: if another session inserts one of these keys meanwhile, the INSERT fails on the primary
 * key, and if one updates such a record, the UPDATE skips it (`updated` < `changed`). mergeBatch then
 * rolls the range back and merges it again with `mergeStatementOnConflict`.
 */
export function mergeStatement(catalog: Catalog, staging?: string): string {
  const { M, H, S, main, fromStaged, overwritten } = mergeParts(catalog, staging);
  const set = overwritten.map((c) => `${c} = s.${c}`);
  return `WITH cand AS MATERIALIZED (
  SELECT s.ctid AS sid, t.ctid AS tid, t.content_hash IS DISTINCT FROM s.content_hash AS todo
  FROM ${S} s LEFT JOIN ${M} t ON t.record_key = s.record_key
  WHERE s.batch_id = :batch AND s.row_number BETWEEN :from AND :to
),
hist AS (
  INSERT INTO ${H} (${main.join(', ')}, "superseded_at", "superseded_by_batch")
  SELECT ${main.map((c) => `t.${c}`).join(', ')}, now(), :batch
  FROM cand c JOIN ${M} t ON t.ctid = c.tid
  WHERE c.todo AND c.tid IS NOT NULL
  ON CONFLICT (record_key, version) DO NOTHING
),
ins AS (
  INSERT INTO ${M} (${main.join(', ')})
  SELECT ${fromStaged.join(', ')} FROM cand c JOIN ${S} s ON s.ctid = c.sid
  WHERE c.tid IS NULL
  RETURNING 1
),
upd AS (
  UPDATE ${M} t SET ${set.join(', ')}, "source_row" = s.row_number, "version" = t.version + 1, "updated_at" = now()
  FROM cand c JOIN ${S} s ON s.ctid = c.sid
  WHERE c.todo AND c.tid IS NOT NULL AND t.ctid = c.tid
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS inserted,
       (SELECT count(*) FROM upd) AS updated,
       count(*) FILTER (WHERE todo AND tid IS NOT NULL) AS changed,
       count(*) AS winners
FROM cand`;
}

/**
 * The range merge that is safe beside concurrent writers of the same records, used when
 * `mergeStatement` met one. `hist` archives the current version of every record a staged row of the
 * range changes; `up` upserts the range's staged rows that are new or changed — an unchanged row is
 * filtered out before it reaches ON CONFLICT, which would lock (write) its row — and `xmax = 0` on the
 * returned row tells an insert from an update.
 */
export function mergeStatementOnConflict(catalog: Catalog, staging?: string): string {
  const { M, H, S, main, fromStaged, overwritten } = mergeParts(catalog, staging);
  const overwrite = [...overwritten, '"source_row"'].map((c) => `${c} = excluded.${c}`);
  const inRange = 's.batch_id = :batch AND s.row_number BETWEEN :from AND :to';
  return `WITH hist AS (
  INSERT INTO ${H} (${main.join(', ')}, "superseded_at", "superseded_by_batch")
  SELECT ${main.map((c) => `t.${c}`).join(', ')}, now(), :batch
  FROM ${S} s JOIN ${M} t ON t.record_key = s.record_key
  WHERE ${inRange} AND t.content_hash <> s.content_hash
  ON CONFLICT (record_key, version) DO NOTHING
),
up AS (
  INSERT INTO ${M} AS t (${main.join(', ')})
  SELECT ${fromStaged.join(', ')} FROM ${S} s
  WHERE ${inRange}
    AND NOT EXISTS (SELECT 1 FROM ${M} u WHERE u.record_key = s.record_key AND u.content_hash = s.content_hash)
  ON CONFLICT (record_key) DO UPDATE SET ${overwrite.join(', ')}, "version" = t.version + 1, "updated_at" = now()
  WHERE t.content_hash IS DISTINCT FROM excluded.content_hash
  RETURNING (t.xmax = 0) AS ins
)
SELECT count(*) FILTER (WHERE ins) AS inserted,
       count(*) FILTER (WHERE NOT ins) AS updated,
       (SELECT count(*) FROM ${S} s WHERE ${inRange}) AS winners
FROM up`;
}

/** A dry run's staging table (see `openScratchStaging`), and the warehouse bound to its transaction. */
export interface ScratchStaging {
  wh: Warehouse;
  table: string;
  discard(): Promise<void>;
}

/**
 * A session's own copy of a catalog's staging table, for a dry run: a temporary table created in a
 * transaction that `discard` rolls back, so rows staged into it (through `wh`, which is bound to that
 * transaction) never reach anything another session sees, and nothing is left behind even if the process
 * dies. Memory stays flat however large the file: the rows wait in PostgreSQL, as a real run's do.
 */
export async function openScratchStaging(wh: Warehouse, catalog: Catalog): Promise<ScratchStaging> {
  const trx = await wh.knex.transaction();
  const table = 'dry_run_staging';
  try {
    // The index makes a re-stage's delete of its row range cheap, as on the real table.
    await trx.raw(
      `CREATE TEMPORARY TABLE ${ident(table)} (LIKE ${ident(catalogTables(catalog).staging)} INCLUDING DEFAULTS INCLUDING INDEXES) ON COMMIT DROP`,
    );
  } catch (e) {
    await trx.rollback().catch(() => {});
    throw e;
  }
  return {
    wh: { ...wh, knex: trx },
    table,
    discard: async () => {
      if (!trx.isCompleted()) await trx.rollback();
    },
  };
}

export interface MergePrediction {
  inserted: number;
  updated: number;
  unchanged: number;
  duplicate: number;
  /** Losers whose content differs from their winner's (DUPLICATE_DIFFERS at merge time). */
  duplicateWarnings: number;
  /** Rows staged for the batch. */
  staged: number;
}

/**
 * What `mergeBatch` would do with the batch's staged rows now, without writing: the same rule (among
 * rows with one key the highest row number wins), compared with the catalog table's current hashes.
 */
export async function predictMerge(
  wh: Warehouse,
  catalog: Catalog,
  batchId: string,
  from?: ScratchStaging,
): Promise<MergePrediction> {
  const t = catalogTables(catalog);
  const S = ident(from?.table ?? t.staging);
  const M = ident(t.main);
  const r = await (from?.wh ?? wh).knex.transaction(async (trx) => {
    // The winners are found by sorting the batch's rows by key: in memory rather than in temp files.
    await setLocal(trx, { work_mem: workMem(wh), jit: 'off' });
    return (
      await trx.raw(
        `WITH w AS (
         SELECT DISTINCT ON (record_key) record_key, content_hash FROM ${S}
         WHERE batch_id = ? ORDER BY record_key, row_number DESC
       )
       SELECT (SELECT count(*) FROM ${S} WHERE batch_id = ?) AS staged,
              count(*) AS winners,
              count(*) FILTER (WHERE t.record_key IS NULL) AS inserted,
              count(*) FILTER (WHERE t.content_hash = w.content_hash) AS unchanged,
              count(*) FILTER (WHERE t.content_hash <> w.content_hash) AS updated,
              (SELECT count(*) FROM ${S} s JOIN w w2 ON w2.record_key = s.record_key
               WHERE s.batch_id = ? AND s.content_hash <> w2.content_hash) AS differs
       FROM w LEFT JOIN ${M} t ON t.record_key = w.record_key`,
        [batchId, batchId, batchId],
      )
    ).rows[0] as Record<string, unknown>;
  });
  const staged = num(r.staged);
  return {
    inserted: num(r.inserted),
    updated: num(r.updated),
    unchanged: num(r.unchanged),
    duplicate: staged - num(r.winners),
    duplicateWarnings: num(r.differs),
    staged,
  };
}

/** Removes a batch's staged rows (a held upload cancelled). */
export async function dropStaged(wh: Warehouse, catalog: Catalog, batchId: string): Promise<number> {
  const res = await wh.knex.raw(`DELETE FROM ${ident(catalogTables(catalog).staging)} WHERE batch_id = ?`, [batchId]);
  return res.rowCount ?? 0;
}
