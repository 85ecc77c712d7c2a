/**
 * Finalize: once every chunk of a collected batch is done, merge the staged rows into the catalog table
 * (batch-wide dedup, then ranges — idempotent, see mergeBatch), add the duplicate warnings, check that
 * the ledger adds up and close the batch. For a sync run, the source's cursor is committed in the same
 * transaction that closes the batch covering it. The last batch of a request closes the request.
 */
import { emptyCounts } from '../../src/types.js';
import { finishBatch, getBatch, listRequestBatches } from '../../src/warehouse/batches.js';
import { chunkKeyPrints, chunkTotals, MissingKeyPrints, pendingChunkCount } from '../../src/warehouse/chunks.js';
import { dropStaged, type RepeatedKeys } from '../../src/warehouse/load.js';
import type { Warehouse } from '../../src/warehouse/open.js';
import { resolveLinks } from '../../src/warehouse/rejection-links.js';
import { advanceRequest, getRequest, type RequestError } from '../../src/warehouse/requests.js';
import { commitSyncCursor, recordSyncFailure } from '../../src/warehouse/sync-state.js';
import { BatchKeyIndex } from '../key-index.js';
import { checkLedger, mergeWithDuplicateWarnings, recordMerge, roundMs } from '../ledger.js';
import { resolverOf } from '../rejection-links.js';
import type { FlowDeps } from './deps.js';

export type FinalizeResult = 'done' | 'not-ready' | 'already';

export async function finalizeBatch(deps: FlowDeps, batchId: string): Promise<FinalizeResult> {
  const batch = await getBatch(deps.warehouse, batchId);
  if (batch?.status !== 'running') return 'already';
  if (batch.chunksTotal === null || (await pendingChunkCount(deps.warehouse, batchId)) > 0) return 'not-ready';
  const log = deps.logger.child({ batchId, file: batch.file, sheet: batch.sheet, catalog: batch.catalog });
  const catalog = deps.catalogs.get(batch.catalog);

  const repeats = await batchRepeats(deps.warehouse, batchId);
  const merged = await mergeWithDuplicateWarnings(deps.warehouse, catalog, batch, {
    onProgress: (p) => log.debug({ ...p }, 'merging'),
    ...(repeats ? { repeats } : {}),
  });
  const totals = await chunkTotals(deps.warehouse, batchId);
  const counts = emptyCounts();
  const stageMs = { ...totals.stageMs };
  recordMerge(counts, merged, stageMs);
  counts.rejected = totals.rejected;
  // Every chunk is done: their rows are exact now (a chunk of CSV bytes counted its rows when split).
  const total = totals.rows;
  checkLedger(counts, total, batchId);
  const warnings = totals.warnings + merged.duplicateWarnings;

  const request = batch.requestId ? await getRequest(deps.warehouse, batch.requestId) : undefined;
  const closed = await deps.warehouse.knex.transaction(async (knex) => {
    const trx: Warehouse = { ...deps.warehouse, knex };
    const ok = await finishBatch(trx, batchId, { counts, total, warnings, stageMs: roundMs(stageMs) }, 'done');
    // The rejections its rows carried ids of are fixed by this batch, with the batch.
    if (ok) await resolveLinks(trx, batch, resolverOf(batch));
    if (ok && request?.kind === 'sync' && request.options.source) {
      await commitSyncCursor(trx, request.options.source, {
        cursor: request.options.upTo ?? null,
        batchId,
        rows: total,
      });
    }
    return ok;
  });
  if (!closed) return 'already';
  log.info({ ...counts, total, warnings }, 'batch done');
  await deps.spool.removeBatch(batchId);
  if (batch.requestId) await settleRequest(deps, batch.requestId);
  return 'done';
}

/**
 * The batch's repeated keys from its chunks' key prints, in chunk order (as the inline ingest finds them);
 * undefined when a chunk kept none (the merge then groups every staged row).
 */
async function batchRepeats(wh: Warehouse, batchId: string): Promise<RepeatedKeys | undefined> {
  const index = new BatchKeyIndex();
  const found = { later: [] as number[], early: [] as number[] };
  try {
    for await (const prints of chunkKeyPrints(wh, batchId)) index.add(prints, found);
  } catch (e) {
    if (e instanceof MissingKeyPrints) return undefined;
    throw e;
  }
  return found;
}

/** A collected request whose batches have all ended is done; its spooled file is no longer needed. */
export async function settleRequest(deps: FlowDeps, requestId: string): Promise<boolean> {
  const request = await getRequest(deps.warehouse, requestId);
  if (request?.status !== 'collected') return false;
  const batches = await listRequestBatches(deps.warehouse, requestId);
  if (batches.some((b) => b.status === 'running')) return false;
  const moved = await advanceRequest(deps.warehouse, requestId, 'done');
  if (moved && request.spoolPath) await deps.spool.remove(request.spoolPath);
  return moved;
}

/**
 * A batch that cannot finish (a bug, a missing chunk file): close it as failed with the reason, so it
 * shows in `guiji batches` and its client stops waiting. Nothing runs it again, so its staged rows and
 * the chunk files still in the spool are removed (its rejections stay: rows of the file that were checked).
 */
export async function failBatch(deps: FlowDeps, batchId: string, error: string): Promise<void> {
  const batch = await getBatch(deps.warehouse, batchId);
  if (batch?.status !== 'running') return;
  const totals = await chunkTotals(deps.warehouse, batchId);
  const counts = emptyCounts();
  counts.rejected = totals.rejected;
  await finishBatch(
    deps.warehouse,
    batchId,
    { counts, total: batch.total, warnings: totals.warnings, stageMs: roundMs(totals.stageMs), error },
    'failed',
  );
  await dropStaged(deps.warehouse, deps.catalogs.get(batch.catalog), batchId);
  await deps.spool.removeBatch(batchId);
  if (batch.requestId) await settleRequest(deps, batch.requestId);
}

/** A request whose collect cannot go on: fail it and the batches it had opened. */
export async function failRequest(deps: FlowDeps, requestId: string, error: RequestError): Promise<void> {
  await advanceRequest(deps.warehouse, requestId, 'failed', { error });
  const req = await getRequest(deps.warehouse, requestId);
  if (req?.kind === 'sync') await recordSyncFailure(deps.warehouse, req.options.source ?? req.name, error.en);
  for (const b of await listRequestBatches(deps.warehouse, requestId)) {
    if (b.status === 'running') await failBatch(deps, b.id, error.en);
  }
  const request = await getRequest(deps.warehouse, requestId);
  if (request?.spoolPath) await deps.spool.remove(request.spoolPath);
}
