/**
 * Collect: read a request's file (or sync source), match each sheet to a catalog, open one batch per
 * sheet with its stage context frozen, and split its records into chunk files in the spool, enqueueing a
 * chunk job for each. Back-pressure: at most `maxChunksInFlight` chunks of a batch wait at once, so a
 * 1M-row file never floods Redis. Re-running after a crash redoes only what PostgreSQL does not show as
 * done (chunking is deterministic for the same file).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { chunkRecords } from '../../connectors/csv/read-csv.js';
import { openSource } from '../../connectors/open-source.js';
import { type GuijiError, inputError, isGuijiError } from '../../src/errors.js';
import type { CsvBytesChunk, MatchedSheet, RawRecord, SheetEvent } from '../../src/source.js';
import { type FrozenContext, openChunkedBatch, setBatchCollected } from '../../src/warehouse/batches.js';
import { addChunk, chunkStatus, pendingChunkCount } from '../../src/warehouse/chunks.js';
import {
  advanceRequest,
  getRequest,
  type IngestRequest,
  type RequestError,
  type RequestOptions,
} from '../../src/warehouse/requests.js';
import { commitSyncCursor, recordSyncFailure } from '../../src/warehouse/sync-state.js';
import { resolveCounty, resolveDefaults, sheetChunks } from '../batch-setup.js';
import { prepareLinkedRecords, withoutRejectionIdColumn } from '../rejection-links.js';
import type { FlowDeps, SyncOpening } from './deps.js';

export interface CollectResult {
  status: 'collected' | 'failed' | 'already';
  batchIds: string[];
  error?: GuijiError;
}

/** The batch id of a request's n-th matched sheet (1-based): stable across re-runs. */
export function batchIdOf(requestId: string, sheetNo: number): string {
  return `${requestId}-${sheetNo}`;
}

export function toRequestError(e: GuijiError): RequestError {
  return { code: e.code, kind: e.kind, zh: e.zh, en: e.message, details: e.details };
}

export async function collectRequest(
  deps: FlowDeps,
  requestId: string,
  onProgress?: (rows: number) => void,
): Promise<CollectResult> {
  const request = await getRequest(deps.warehouse, requestId);
  if (!request) {
    deps.logger.warn({ requestId }, 'collect: no such request (removed?)');
    return { status: 'already', batchIds: [] };
  }
  if (request.status !== 'queued' && request.status !== 'collecting') {
    return { status: 'already', batchIds: [] };
  }
  await advanceRequest(deps.warehouse, requestId, 'collecting');
  const log = deps.logger.child({ requestId, file: request.name });
  const batchIds: string[] = [];
  const skipped: IngestRequest['skipped'] = [];
  let sync: SyncOpening | undefined;
  try {
    let events: AsyncIterable<SheetEvent>;
    if (request.kind === 'sync') {
      if (!deps.openSync) throw new Error('this process cannot open sync sources');
      sync = await deps.openSync(request);
      await rememberUpTo(deps, request, sync);
      events = sync.events;
    } else {
      if (!request.spoolPath) throw new Error(`request ${requestId} has no spooled file`);
      const file = deps.spool.resolve(request.spoolPath);
      events = openSource(file, deps.catalogs.list, {
        ...readOptions(request.options),
        chunkSize: deps.config.distributed.chunkRows,
        displayName: request.name,
      });
    }
    let sheetNo = 0;
    for await (const ev of events) {
      if (ev.kind === 'skipped') {
        skipped.push({ sheet: ev.skipped.sheet, code: ev.skipped.code, zh: ev.skipped.zh, en: ev.skipped.en });
        continue;
      }
      sheetNo++;
      const batchId = batchIdOf(requestId, sheetNo);
      batchIds.push(batchId);
      await collectSheet(deps, request, ev.sheet, batchId, log, onProgress);
    }
    if (sync) await rememberUpTo(deps, request, sync);
    if (batchIds.length === 0 && request.kind === 'sync') {
      // Nothing new at the source: a successful run that loads nothing.
      await commitSyncCursor(deps.warehouse, request.options.source ?? request.name, {
        cursor: request.options.upTo ?? null,
        batchId: null,
        rows: 0,
      });
      await advanceRequest(deps.warehouse, requestId, 'collected', { skipped });
      await advanceRequest(deps.warehouse, requestId, 'done');
      return { status: 'collected', batchIds };
    }
    if (batchIds.length === 0) {
      const reasons = skipped.map((s) => `${s.sheet ?? ''}：${s.zh}`).join('；');
      throw inputError(
        'NO_SHEET_MATCHED',
        `文件 ${request.name} 中没有可导入的工作表。${reasons}`,
        `no sheet of ${request.name} matched a catalog`,
        { file: request.name },
      );
    }
    await advanceRequest(deps.warehouse, requestId, 'collected', { skipped });
    return { status: 'collected', batchIds };
  } catch (e) {
    if (!(isGuijiError(e) && (e.kind === 'input' || e.kind === 'config'))) throw e; // retried or a bug
    // The clerk's file is unusable: say why on the request. Batches of earlier sheets still finish.
    log.warn({ code: e.code }, e.message);
    const status = batchIds.length > 0 ? 'collected' : 'failed';
    await advanceRequest(deps.warehouse, requestId, status, { error: toRequestError(e), skipped });
    if (request.kind === 'sync')
      await recordSyncFailure(deps.warehouse, request.options.source ?? request.name, e.message);
    if (status === 'failed' && request.spoolPath) await deps.spool.remove(request.spoolPath);
    return { status: batchIds.length > 0 ? 'collected' : 'failed', batchIds, error: e };
  } finally {
    await sync?.close();
  }
}

function readOptions(o: RequestOptions) {
  return { sheet: o.sheet, headerRow: o.headerRow, encoding: o.encoding, catalogId: o.catalogId };
}

async function rememberUpTo(deps: FlowDeps, request: IngestRequest, sync: SyncOpening): Promise<void> {
  const upTo = sync.upTo();
  if (upTo === null || request.options.upTo === upTo) return;
  request.options.upTo = upTo;
  await deps.warehouse.knex.raw('UPDATE ingest_requests SET options = ?::jsonb WHERE id = ?', [
    JSON.stringify(request.options),
    request.id,
  ]);
}

async function collectSheet(
  deps: FlowDeps,
  request: IngestRequest,
  matched: MatchedSheet,
  batchId: string,
  log: FlowDeps['logger'],
  onProgress?: (rows: number) => void,
): Promise<void> {
  const sheet = withoutRejectionIdColumn(matched);
  // A CSV goes into the spool as bytes (the workers split them).
  const iterator = sheetChunks(sheet, true);
  const first = await iterator.next();
  const firstChunk: RawRecord[] = first.done ? [] : chunkRecords(first.value);

  const county = resolveCounty(deps, sheet, firstChunk, request.options.county);
  const defaults = resolveDefaults(deps, sheet, county);
  const context: FrozenContext = {
    headers: sheet.headers,
    columns: sheet.columns,
    defaults,
    county,
    today: deps.clock.today(),
    headerRow: sheet.headerRow,
    encoding: sheet.encoding,
  };
  const batch = await openChunkedBatch(deps.warehouse, {
    id: batchId,
    file: request.name,
    sheet: sheet.sheet ?? null,
    catalog: sheet.catalog.id,
    county,
    fileSha256: request.fileSha256,
    requestId: request.id,
    context,
    kind: request.kind === 'sync' ? 'sync' : 'file',
  });
  if (batch.status !== 'running' || batch.chunksTotal !== null) {
    // Collected before (this is a re-run after a crash): nothing to split again.
    for (let n = await iterator.next(); !n.done; n = await iterator.next()) {}
    return;
  }

  const { maxChunksInFlight } = deps.config.distributed;
  let chunkNo = 0;
  let total = 0;
  let chunk: RawRecord[] | CsvBytesChunk | undefined = firstChunk;
  while (chunk) {
    const span = chunkSpan(chunk);
    if (span) {
      const ref = { batchId, chunkNo };
      total += span.rows;
      const status = await chunkStatus(deps.warehouse, ref);
      if (status !== 'done') {
        await waitForRoom(deps, batchId, maxChunksInFlight);
        // Masked cells restored and unusable rejection ids warned here, where the records are.
        if (Array.isArray(chunk)) {
          await prepareLinkedRecords(
            deps.warehouse,
            { batchId, catalog: sheet.catalog.id, county },
            sheet.headers,
            chunk,
          );
        }
        await deps.spool.writeChunk(batchId, chunkNo, chunk);
        await addChunk(deps.warehouse, { ...ref, ...span });
        await deps.enqueue.chunk(batchId, chunkNo);
      }
      chunkNo++;
      onProgress?.(total);
    }
    const next: IteratorResult<RawRecord[] | CsvBytesChunk> = await iterator.next();
    chunk = next.done ? undefined : next.value;
  }
  await setBatchCollected(deps.warehouse, batchId, chunkNo, total);
  log.info({ batchId, chunks: chunkNo, total }, 'batch collected');
  if ((await pendingChunkCount(deps.warehouse, batchId)) === 0) await deps.enqueue.finalize(batchId);
}

/**
 * Where a chunk's rows are and how many: exact for records; for CSV bytes, the records the byte scan
 * counted (empty lines included; the chunk's job records the exact number when it splits them). Null for
 * a chunk with nothing in it.
 */
function chunkSpan(chunk: RawRecord[] | CsvBytesChunk): { firstRow: number; lastRow: number; rows: number } | null {
  if (Array.isArray(chunk)) {
    if (chunk.length === 0) return null;
    const rows = chunk.length;
    return { firstRow: (chunk[0] as RawRecord).rowNumber, lastRow: (chunk[rows - 1] as RawRecord).rowNumber, rows };
  }
  if (chunk.bytes.byteLength === 0) return null;
  // The file's last bytes (records: null) hold at least one record.
  const rows = chunk.records ?? 1;
  return { firstRow: chunk.base + 1, lastRow: chunk.base + rows, rows };
}

/** Back-pressure: wait while the batch already has `limit` chunks waiting or running. */
async function waitForRoom(deps: FlowDeps, batchId: string, limit: number): Promise<void> {
  let delay = 20;
  while ((await pendingChunkCount(deps.warehouse, batchId)) >= limit) {
    await sleep(delay);
    delay = Math.min(250, delay * 2);
  }
}
