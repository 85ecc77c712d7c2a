/**
 * Held uploads (issue 4): a batch ingested with `hold` waits as 'staged' — rows checked, keyed and in
 * staging, rejections saved, outcomes predicted. Commit merges what was staged (the file is not read
 * again); cancel drops it. Either happens once: the batch is claimed by a status change first.
 */
import { inputError, isGuijiError } from '../src/errors.js';
import { type BatchSummary, emptyCounts } from '../src/types.js';
import { writeAudit } from '../src/warehouse/audit.js';
import {
  type BatchRecord,
  cancelStagedBatch,
  claimHeldBatch,
  finishBatch,
  getBatch,
} from '../src/warehouse/batches.js';
import { dropStaged, predictMerge } from '../src/warehouse/load.js';
import type { Warehouse } from '../src/warehouse/open.js';
import { resolveLinks } from '../src/warehouse/rejection-links.js';
import { deleteBatchRows } from '../src/warehouse/rejections.js';
import type { IngestDeps } from './ingest.js';
import { checkLedger, mergeWithDuplicateWarnings, recordMerge, roundMs } from './ledger.js';
import { linkWriter, moveHeldRejections } from './rejection-links.js';

function notStaged(batchId: string, b: BatchRecord | undefined) {
  const state: Record<string, string> = {
    done: '已提交',
    cancelled: '已取消',
    running: '正在处理',
    failed: '处理失败',
  };
  return inputError(
    'BATCH_NOT_STAGED',
    b
      ? `批次 ${batchId} ${state[b.status] ?? b.status}，不是等待提交的上传，不能再提交或取消。`
      : `找不到批次 ${batchId}。`,
    b ? `batch ${batchId} is ${b.status}, not staged` : `no batch ${batchId}`,
    { batchId, status: b?.status ?? null },
  );
}

/**
 * Commits a held upload: the staged rows are merged, rejected rows that carried a rejection id go
 * into their original rejections, the batch is done and the rejections its loaded rows carried are
 * fixed (resolved by `actor`). Throws BATCH_NOT_STAGED (input) when it is not waiting for commit.
 */
export async function commitHeldBatch(deps: IngestDeps, batchId: string, actor: string): Promise<BatchSummary> {
  const started = performance.now();
  const wh = deps.warehouse;
  const before = await getBatch(wh, batchId);
  if (before?.status !== 'staged' || !(await claimHeldBatch(wh, batchId))) throw notStaged(batchId, before);
  const batch = before;
  const catalog = deps.catalogs.get(batch.catalog);
  const log = deps.logger.child({ batchId, file: batch.file, sheet: batch.sheet, catalog: batch.catalog });
  const counts = emptyCounts();
  counts.rejected = batch.rejected;
  const stageMs: Record<string, number> = { ...batch.stageMs };
  try {
    // Staging is UNLOGGED: a database crash since the check empties it. Never merge half an upload.
    const held = await predictMerge(wh, catalog, batchId);
    if (held.staged !== batch.total - batch.rejected) {
      // The upload itself is unusable now (not a bug): the clerk is told to upload the file again.
      throw inputError(
        'STAGING_LOST',
        `上传批次 ${batchId} 暂存的数据已丢失（数据库曾重启），请重新上传文件。`,
        `batch ${batchId}: ${held.staged} rows staged, ${batch.total - batch.rejected} expected`,
      );
    }
    const merged = await mergeWithDuplicateWarnings(wh, catalog, batch);
    recordMerge(counts, merged, stageMs);
    checkLedger(counts, batch.total, batchId);
    // The predicted duplicate warnings are replaced by the merge's own.
    const warnings = batch.warnings - held.duplicateWarnings + merged.duplicateWarnings;
    const info = {
      id: batchId,
      file: batch.file,
      sheet: batch.sheet,
      catalog: batch.catalog,
      county: batch.county ?? '',
    };
    await wh.knex.transaction(async (knex) => {
      const trx: Warehouse = { ...wh, knex };
      await finishBatch(trx, batchId, { counts, total: batch.total, warnings, stageMs: roundMs(stageMs) }, 'done');
      const moved = await moveHeldRejections(trx, linkWriter(info, batch.context?.headers ?? [], actor));
      const fixed = await resolveLinks(trx, batch, actor);
      await writeAudit(knex, {
        actor,
        action: 'commit',
        entity: 'upload',
        entityId: batchId,
        county: batch.county,
        oldValue: { status: 'staged' },
        newValue: { status: 'done', ...counts },
        detail: { file: batch.file, sheet: batch.sheet, fixed: fixed.length, resubmitted: moved },
      });
    });
    const summary: BatchSummary = {
      batchId,
      file: batch.file,
      sheet: batch.sheet,
      catalog: batch.catalog,
      county: batch.county ?? '',
      total: batch.total,
      ...counts,
      warnings,
      durationMs: Math.round(performance.now() - started),
    };
    log.info({ ...summary }, 'held batch committed');
    return summary;
  } catch (e) {
    await finishBatch(
      wh,
      batchId,
      { counts, total: batch.total, warnings: batch.warnings, stageMs: roundMs(stageMs), error: (e as Error).message },
      'failed',
    ).catch((err) => log.error({ err }, 'could not mark the batch failed'));
    // A failed batch is never merged again: what it still has staged is dead weight.
    await dropStaged(wh, catalog, batchId).catch((err) => log.error({ err }, 'could not drop the staged rows'));
    throw e;
  }
}

/**
 * Cancels a held upload: status 'cancelled', its staged rows, rejections, warnings and links removed
 * (the original rejections its rows named were never touched). Throws BATCH_NOT_STAGED otherwise.
 * `reason` (e.g. why the expiry cancelled it) goes into the audit entry's detail.
 */
export async function cancelHeldBatch(
  deps: IngestDeps,
  batchId: string,
  actor: string,
  opts: { reason?: string } = {},
): Promise<BatchRecord> {
  const wh = deps.warehouse;
  const before = await getBatch(wh, batchId);
  if (before?.status !== 'staged') throw notStaged(batchId, before);
  const catalog = deps.catalogs.get(before.catalog);
  const ok = await wh.knex.transaction(async (knex) => {
    const trx: Warehouse = { ...wh, knex };
    if (!(await cancelStagedBatch(trx, batchId))) return false;
    const staged = await dropStaged(trx, catalog, batchId);
    const rejections = await deleteBatchRows(trx, batchId);
    await writeAudit(knex, {
      actor,
      action: 'cancel',
      entity: 'upload',
      entityId: batchId,
      county: before.county,
      oldValue: { status: 'staged' },
      newValue: { status: 'cancelled' },
      detail: {
        file: before.file,
        sheet: before.sheet,
        staged,
        rejections,
        ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
      },
    });
    return true;
  });
  const after = await getBatch(wh, batchId);
  if (!ok || !after) throw notStaged(batchId, after);
  return after;
}

/** Who cancels the staged uploads nobody committed or cancelled in time (the audit log's actor). */
export const EXPIRY_ACTOR = 'system:expiry';

export interface ExpireOptions {
  /** A batch staged longer ago than this is cancelled. */
  olderThanMs: number;
  /** Default: the database's own now() (started_at is set by the database, so no clock skew). */
  now?: Date;
}

/**
 * Cancels every held upload still staged after `olderThanMs` (by started_at), through cancelHeldBatch:
 * staged rows, rejections and warnings dropped, an audit entry by EXPIRY_ACTOR with the reason. Returns
 * the ids cancelled, oldest first. One that is committed or cancelled meanwhile is skipped; any other
 * failure is logged and the rest are still expired.
 */
export async function expireHeldBatches(deps: IngestDeps, opts: ExpireOptions): Promise<string[]> {
  const { olderThanMs } = opts;
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new RangeError(`olderThanMs must be a non-negative number, got ${olderThanMs}`);
  }
  const wh = deps.warehouse;
  const res = await wh.knex.raw(
    `SELECT id FROM batches
     WHERE status = 'staged' AND started_at < COALESCE(?::timestamptz, now()) - ?::float8 * interval '1 millisecond'
     ORDER BY started_at, id`,
    [opts.now?.toISOString() ?? null, Math.floor(olderThanMs)],
  );
  const hours = Math.round((olderThanMs / 3_600_000) * 100) / 100;
  const reason = `staged for more than ${hours} h without commit or cancel`;
  const expired: string[] = [];
  for (const { id } of res.rows as Array<{ id: string }>) {
    try {
      const b = await cancelHeldBatch(deps, id, EXPIRY_ACTOR, { reason });
      expired.push(id);
      deps.logger.warn(
        {
          batchId: id,
          file: b.file,
          sheet: b.sheet,
          county: b.county,
          createdBy: b.createdBy,
          startedAt: b.startedAt.toISOString(),
          reason,
        },
        'staged upload expired: cancelled',
      );
    } catch (e) {
      // Committed or cancelled by its clerk since the query: nothing left to expire.
      if (isGuijiError(e) && e.code === 'BATCH_NOT_STAGED') continue;
      deps.logger.error({ err: e, batchId: id }, 'could not expire a staged upload');
    }
  }
  return expired;
}
