import type { Knex } from 'knex';
import type { Catalog } from '../catalog/types.js';
import { catalogTables } from './ddl.js';
import { ident } from './ident.js';
import {
  addLaterRows,
  clearStaged,
  createLaterRows,
  firstRowJoin,
  LATER_ROWS,
  losersSql,
  type MergeOptions,
  type MergeResult,
  mergedCounts,
  mergeParts,
  mergeRangeRetrying,
  mergeStatement,
  mergeStatementOnConflict,
  num,
  type RepeatedKeys,
  setLocal,
  workMem,
} from './load.js';
import type { Warehouse } from './open.js';

/** Temporary tables of the merge's transaction (dropped at its end). */
const LATER_STAGED = 'merge_later_staged';
const EARLY_ROWS = 'merge_early_rows';
const EARLY_LOST = 'merge_early_lost';

/**
 * Merges a batch while it is still being staged, in one transaction: nothing of the batch is visible to
 * others, or kept, until `finish` commits, and `abort` (a failure, an operator's stop) leaves the catalog
 * table as it was.
 *
 * The reader tells it which rows repeat a key seen earlier in the batch (`noteRepeats`, from
 * pipelines/key-index.ts) and up to which row everything is staged (`stagedUpTo`). Every other row holds
 * a key no other row of the batch has so far, so it merges against the catalog table at once, range by
 * range, as mergeBatch's ranges do. The repeats are moved out of staging as their range is merged and
 * settled at the end (`finish`), together with the first row of their key if its range had not begun
 * when the repeat was noted (then nothing of the key is merged before the end):
 * - among a key's repeats and its first row, the highest row number wins; the others are duplicates
 *   (merge_duplicates, as mergeBatch records them);
 * - a winning repeat whose first row was merged already takes that row's place: over the record it
 *   inserted or updated (the version stays; back to the version before the batch if the winner's content
 *   is that one's), or as an update of the record the first row found unchanged.
 *
 * On PostgreSQL the ranges merge on their own connection while the rows are read and staged on others;
 * PGlite has one connection, so there everything runs in `finish`.
 */
export class MergeAsStaged {
  private trx: Knex.Transaction | undefined;
  private mergedTo = 0;
  private stagedTo = 0;
  private pending: { later: number[]; early: number[] } = { later: [], early: [] };
  private repeats = 0;
  private work: Promise<void> = Promise.resolve();
  /** A merge is queued and has not started: it will take every row staged by the time it starts. */
  private queued = false;
  private failure: unknown;
  private mergedRows = 0;
  private readonly timings: Record<string, number> = { ranges: 0 };
  private readonly rangeRows: number;
  private readonly minRangeRows: number;
  private readonly overlap: boolean;
  private readonly sqls: { fast: string; safe: string };

  constructor(
    private readonly wh: Warehouse,
    private readonly catalog: Catalog,
    private readonly batchId: string,
    private readonly opts: Pick<MergeOptions, 'chunkRows' | 'onProgress'> & { minChunkRows?: number } = {},
  ) {
    this.rangeRows = Math.max(1, opts.chunkRows ?? 50_000);
    // Small ranges while reading cost a statement each for little work; the reader runs ahead meanwhile.
    this.minRangeRows = Math.max(1, opts.minChunkRows ?? 20_000);
    this.overlap = wh.kind === 'postgres';
    this.sqls = { fast: mergeStatement(catalog), safe: mergeStatementOnConflict(catalog) };
  }

  /**
   * Rows that repeat a key seen earlier in the batch (before their range is reported staged). A first
   * row not merged yet waits for the end with its repeats (moved out of staging like them): merged now,
   * the end step would have to put its winner in its place, one random read and write of the catalog
   * table each (repeats in a file are often near each other: a row sent again, corrected). If its range
   * is being merged meanwhile, it is merged there, and the end step takes its place as before.
   */
  noteRepeats(found: RepeatedKeys): void {
    const { later, early } = this.pending;
    for (let i = 0; i < found.later.length; i++) {
      const first = found.early[i] as number;
      later.push(found.later[i] as number);
      early.push(first);
      // (A first row of 0 means none: the key table was full.)
      if (first > this.mergedTo) {
        later.push(first);
        early.push(0);
      }
    }
    this.repeats += found.later.length;
  }

  /**
   * Every row up to `row` is staged (or rejected). Merging what that allows starts in the background;
   * a failure of it is thrown here on a later call, and by `finish`.
   */
  stagedUpTo(row: number): void {
    if (this.failure !== undefined) throw this.failure;
    if (row <= this.stagedTo) return;
    this.stagedTo = row;
    if (!this.overlap || this.queued || this.stagedTo - this.mergedTo < this.minRangeRows) return;
    // One merge queued at a time, up to where staging is when it starts: a merge queued per staged
    // chunk while another ran merged a chunk's ~2,000 rows each (176 statements for 1M rows, each
    // planned, with a savepoint and a merge_chunks row, instead of ~25–50).
    this.queued = true;
    this.work = this.work.then(async () => {
      this.queued = false;
      if (this.failure !== undefined || this.stagedTo - this.mergedTo < this.minRangeRows) return;
      try {
        await this.mergeUpTo(this.stagedTo);
      } catch (e) {
        // Rolled back at once: a failed merge holds no locks or connection while the reader goes on.
        this.failure = e;
        await this.rollback().catch(() => {});
      }
    });
  }

  /**
   * Resolves once the merges asked for so far have run (their failure is thrown by `finish`). For tests
   * that need a first row merged before its repeats are noted.
   */
  async settled(): Promise<void> {
    await this.work;
  }

  /**
   * Merges what is left, settles the repeats, commits; then removes the batch's staged rows. If it fails
   * before the commit, the merge is rolled back (its connection goes back to the pool).
   */
  async finish(): Promise<MergeResult> {
    try {
      await this.work;
      if (this.failure !== undefined) throw this.failure;
      await this.mergeRestAndCommit();
    } catch (e) {
      await this.abort().catch(() => {});
      throw e;
    }
    const t2 = performance.now();
    await clearStaged(this.wh, ident(catalogTables(this.catalog).staging), this.batchId);
    const counts = await mergedCounts(this.wh.knex, this.batchId);
    this.timings.cleanup = performance.now() - t2;
    return { ...counts, timings: this.timings };
  }

  private async mergeRestAndCommit(): Promise<void> {
    const S = ident(catalogTables(this.catalog).staging);
    const trx = await this.transaction();
    const last = (await trx.raw(`SELECT max(row_number) AS hi FROM ${S} WHERE batch_id = ?`, [this.batchId]))
      .rows[0] as { hi: unknown };
    const t0 = performance.now();
    await this.mergeUpTo(Math.max(this.stagedTo, num(last.hi)));
    this.timings.tail = performance.now() - t0;
    const t1 = performance.now();
    await this.flushRepeats(trx);
    if (this.repeats > 0) await this.settleRepeats(trx);
    this.timings.repeats = performance.now() - t1;
    await trx.commit();
    this.trx = undefined;
  }

  /** Rolls back whatever was merged (a failure, an operator's stop). */
  async abort(): Promise<void> {
    await this.work;
    await this.rollback();
  }

  private async rollback(): Promise<void> {
    const trx = this.trx;
    this.trx = undefined;
    if (trx && !trx.isCompleted()) await trx.rollback();
  }

  private async transaction(): Promise<Knex.Transaction> {
    if (this.trx) return this.trx;
    const trx = await this.wh.knex.transaction();
    try {
      await createLaterRows(trx);
      await trx.raw(
        `CREATE TEMPORARY TABLE ${ident(LATER_STAGED)} (LIKE ${ident(catalogTables(this.catalog).staging)}) ON COMMIT DROP`,
      );
      // The end step joins by these (nested loops: a scan of a temporary table per outer row costs seconds).
      await trx.raw(`CREATE INDEX ON ${ident(LATER_STAGED)} (row_number)`);
      await trx.raw(`CREATE INDEX ON ${ident(LATER_STAGED)} (record_key)`);
      await trx.raw(
        `CREATE TEMPORARY TABLE ${ident(EARLY_ROWS)} (row_number integer PRIMARY KEY, record_key text COLLATE "C" NOT NULL, content_hash text NOT NULL) ON COMMIT DROP`,
      );
      await trx.raw(`CREATE INDEX ON ${ident(EARLY_ROWS)} (record_key)`);
    } catch (e) {
      await trx.rollback().catch(() => {});
      throw e;
    }
    this.trx = trx;
    return trx;
  }

  /** Merges the staged rows up to `upTo` in ranges of at most `rangeRows`, the repeats moved out first. */
  private async mergeUpTo(upTo: number): Promise<void> {
    if (upTo <= this.mergedTo) return;
    const t0 = performance.now();
    const trx = await this.transaction();
    await this.flushRepeats(trx);
    const S = ident(catalogTables(this.catalog).staging);
    while (this.mergedTo < upTo) {
      const from = this.mergedTo + 1;
      const to = Math.min(upTo, this.mergedTo + this.rangeRows);
      if (this.repeats > 0) {
        // Staging's statistics are stale: its rows are found through its index from the repeats', by ctid.
        // The first row of each moved repeat's key (E, for the end step) is looked up here, in the
        // background, rather than at the end: it was staged before its repeat, so it is in staging now.
        await trx.raw(
          `WITH moved AS (
             DELETE FROM ${S} s WHERE s.ctid = ANY (ARRAY(
               SELECT x.ctid FROM ${ident(LATER_ROWS)} l
               CROSS JOIN LATERAL (
                 SELECT z.ctid FROM ${S} z WHERE z.batch_id = :batch AND z.row_number = l.row_number OFFSET 0
               ) x
               WHERE l.row_number BETWEEN :from AND :to))
             RETURNING s.*
           ),
           later AS (INSERT INTO ${ident(LATER_STAGED)} SELECT * FROM moved),
           -- A first row that waits with its repeats may have been taken for merged by a repeat with a
           -- lower row number (from a chunk staged after the first row's): it is not merged after all.
           unmerged AS (DELETE FROM ${ident(EARLY_ROWS)} WHERE row_number IN (SELECT row_number FROM moved))
           INSERT INTO ${ident(EARLY_ROWS)} (row_number, record_key, content_hash)
           SELECT DISTINCT x.row_number, x.record_key, x.content_hash
           FROM moved m
           JOIN ${ident(LATER_ROWS)} r ON r.row_number = m.row_number
           ${firstRowJoin(S, 'r.early_row', 'm.record_key')}
           -- A first row moved out by this statement (it waits with its repeats) is not merged: not an E row.
           WHERE NOT EXISTS (SELECT 1 FROM moved f WHERE f.row_number = x.row_number)
           ON CONFLICT (row_number) DO NOTHING`,
          { batch: this.batchId, from, to },
        );
      }
      const r = await mergeRangeRetrying((fn) => trx.transaction(fn), this.wh, this.sqls, this.batchId, {
        from,
        to,
        chunk: true,
      });
      this.mergedTo = to;
      this.mergedRows += r.winners;
      this.opts.onProgress?.({ mergedRows: this.mergedRows, firstRow: from, lastRow: to, lastRowOfBatch: upTo });
    }
    this.timings.ranges = (this.timings.ranges ?? 0) + (performance.now() - t0);
  }

  private async flushRepeats(trx: Knex.Transaction): Promise<void> {
    const pending = this.pending;
    this.pending = { later: [], early: [] };
    await addLaterRows(trx, pending);
  }

  /**
   * The end step (see the class comment), in the merge's transaction. Staging and the catalog table are
   * rarely analyzed here, so their estimates are stale: every statement reaches them one row at a time,
   * through an index (a LATERAL subquery behind OFFSET 0, which the planner cannot flatten and reorder)
   * or by ctid, from the few rows of the temporary tables.
   */
  private async settleRepeats(trx: Knex.Transaction): Promise<void> {
    const { M, H, main, overwritten } = mergeParts(this.catalog);
    const L = ident(LATER_STAGED);
    const E = ident(EARLY_ROWS);
    const F = ident(EARLY_LOST);
    const b = { batch: this.batchId };
    await setLocal(trx, {
      enable_hashjoin: 'off',
      enable_mergejoin: 'off',
      enable_seqscan: 'on',
      enable_sort: 'on',
      jit: 'off',
      work_mem: workMem(this.wh),
    });
    // The temporary tables (a few thousand rows; E holds the repeated keys' first rows, found as their
    // repeats were moved) are analyzed, the moved rows on the columns the end step joins by only (all 38
    // took 60–200 ms: the text columns' statistics sort their samples).
    await trx.raw(`ANALYZE ${L} (row_number, record_key, content_hash), ${ident(LATER_ROWS)}, ${E}`);
    // Every row of a repeated key but the last is a duplicate.
    await trx.raw(
      `WITH g AS (SELECT row_number, record_key, content_hash FROM ${L} UNION ALL SELECT * FROM ${E})
       ${losersSql('g')}`,
      b,
    );
    await trx.raw(
      `DELETE FROM ${L} l WHERE EXISTS (
         SELECT 1 FROM merge_duplicates d WHERE d.batch_id = :batch AND d.row_number = l.row_number OFFSET 0)`,
      b,
    );
    // Winners whose key's first row was merged already (it lost), with what that merge did to the record:
    // wrote it (inserted or updated it: the record is the batch's, from that row; an update left the
    // version before the batch in history) or found it unchanged.
    await trx.raw(
      `CREATE TEMPORARY TABLE ${F} ON COMMIT DROP AS
       SELECT l.row_number AS w_row, l.content_hash AS w_hash,
              coalesce(t.batch_id = :batch AND t.source_row = e.row_number, false) AS early_wrote,
              t.tid, t.content_hash AS t_hash, h.hid, h.content_hash AS h_hash
       FROM ${L} l
       JOIN ${E} e ON e.record_key = l.record_key
       LEFT JOIN LATERAL (
         SELECT m.ctid AS tid, m.batch_id, m.source_row, m.content_hash FROM ${M} m
         WHERE m.record_key = l.record_key OFFSET 0
       ) t ON true
       LEFT JOIN LATERAL (
         SELECT o.ctid AS hid, o.content_hash FROM ${H} o
         WHERE o.record_key = l.record_key AND o.superseded_by_batch = :batch OFFSET 0
       ) h ON true`,
      b,
    );
    await trx.raw(`ANALYZE ${F}`);
    const restoredCols = main.filter((c) => c !== '"record_key"');
    const set = overwritten.map((c) => `${c} = s.${c}`).join(', ');
    // Each statement reaches the catalog rows it changes by ctid, from its few rows of F (OFFSET 0 keeps
    // them the outer side).
    const winners = (cond: string) =>
      `(SELECT f.tid, s.* FROM ${F} f JOIN ${L} s ON s.row_number = f.w_row WHERE ${cond} OFFSET 0)`;
    const RESTORE = 'early_wrote AND h_hash = w_hash';
    const OVERWRITE = 'early_wrote AND h_hash IS DISTINCT FROM w_hash';
    const BUMP = 'NOT early_wrote AND t_hash <> w_hash';
    // The first row updated the record and the winner brings back the version before the batch: that
    // version returns from history, and the batch leaves the record unchanged.
    const restored = await trx.raw(
      `UPDATE ${M} t SET (${restoredCols.join(', ')}) = (${restoredCols.map((c) => `h.${c}`).join(', ')})
       FROM (SELECT f.tid, o.* FROM ${F} f JOIN ${H} o ON o.ctid = f.hid WHERE ${RESTORE} OFFSET 0) h
       WHERE t.ctid = h.tid`,
    );
    await trx.raw(`DELETE FROM ${H} h USING (SELECT hid FROM ${F} WHERE ${RESTORE} OFFSET 0) f WHERE h.ctid = f.hid`);
    // The first row inserted or updated the record: the winner's content in its place, same version.
    await trx.raw(
      `UPDATE ${M} t SET ${set}, "source_row" = s.row_number, "updated_at" = now()
       FROM ${winners(OVERWRITE)} s WHERE t.ctid = s.tid`,
    );
    // The first row found the record unchanged and the winner differs: an update, as a range makes it.
    await trx.raw(
      `INSERT INTO ${H} (${main.join(', ')}, "superseded_at", "superseded_by_batch")
       SELECT ${main.map((c) => `t.${c}`).join(', ')}, now(), :batch
       FROM (SELECT tid FROM ${F} WHERE ${BUMP} OFFSET 0) f JOIN ${M} t ON t.ctid = f.tid
       ON CONFLICT (record_key, version) DO NOTHING`,
      b,
    );
    const bumped = await trx.raw(
      `UPDATE ${M} t SET ${set}, "source_row" = s.row_number, "version" = t.version + 1, "updated_at" = now()
       FROM ${winners(BUMP)} s WHERE t.ctid = s.tid`,
    );
    // The record is gone (deleted by another session since): the winner goes in as a new record below.
    const gone = num((await trx.raw(`SELECT count(*) AS n FROM ${F} WHERE NOT early_wrote AND tid IS NULL`)).rows[0].n);
    await trx.raw(
      `DELETE FROM ${L} l WHERE EXISTS (SELECT 1 FROM ${F} f WHERE f.w_row = l.row_number AND f.tid IS NOT NULL)`,
    );
    // The remaining winners hold keys no merged row of the batch has: merged as a range is.
    const span = (await trx.raw(`SELECT min(row_number) AS lo, max(row_number) AS hi FROM ${L}`)).rows[0] as {
      lo: unknown;
      hi: unknown;
    };
    let fresh = { winners: 0, inserted: 0, updated: 0 };
    if (span.lo !== null && span.hi !== null) {
      fresh = await mergeRangeRetrying(
        (fn) => trx.transaction(fn),
        this.wh,
        {
          fast: mergeStatement(this.catalog, LATER_STAGED),
          safe: mergeStatementOnConflict(this.catalog, LATER_STAGED),
        },
        this.batchId,
        { from: num(span.lo), to: num(span.hi), chunk: false },
      );
    }
    // The first rows' outcomes were counted with their ranges; what the winners changed of them is
    // counted here, in a row of its own (row 0: no range of the file).
    const restoredN = restored.rowCount ?? 0;
    const bumpedN = bumped.rowCount ?? 0;
    await trx.raw(
      `INSERT INTO merge_chunks (batch_id, first_row, last_row, inserted, updated, unchanged)
       VALUES (:batch, 0, 0, :inserted, :updated, :unchanged)`,
      {
        ...b,
        inserted: fresh.inserted,
        updated: fresh.updated + bumpedN - restoredN,
        unchanged: fresh.winners - fresh.inserted - fresh.updated + restoredN - bumpedN - gone,
      },
    );
  }
}
