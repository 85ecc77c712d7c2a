/**
 * One chunk through clean → normalize → validate → key, then — in one transaction — its valid rows into
 * staging, its rejected rows and warnings into their tables, and the chunk marked done. A worker killed
 * half-way leaves nothing; a second run of a done chunk changes nothing. The merge waits for finalize.
 */
import { chunkRecords } from '../../connectors/csv/read-csv.js';
import type { Catalog } from '../../src/catalog/types.js';
import { internalError } from '../../src/errors.js';
import { BufferPool, releaseBuffer } from '../../src/executors/buffer-pool.js';
import type { ThreadPool } from '../../src/executors/thread-pool.js';
import type { StageContext } from '../../src/pipeline.js';
import type { Row } from '../../src/types.js';
import { type BatchRecord, type FrozenContext, getBatch } from '../../src/warehouse/batches.js';
import { chunkStatus, lockChunk, markChunkDone, pendingChunkCount } from '../../src/warehouse/chunks.js';
import { copyBytesForCsv } from '../../src/warehouse/copy-text.js';
import { stageEncoded, stageRows } from '../../src/warehouse/load.js';
import type { Warehouse } from '../../src/warehouse/open.js';
import { saveWarnings } from '../../src/warehouse/rejections.js';
import { type ChunkOutput, splitChunk, toRows } from '../chunk-runner.js';
import type { ChunkTask } from '../chunk-worker.js';
import { countWarnings, roundMs } from '../ledger.js';
import { rejectionIdColumn } from '../rejection-id.js';
import { linkWriter, resolverOf, saveChunkRejections } from '../rejection-links.js';
import { makePipeline } from '../stages.js';
import type { FlowDeps } from './deps.js';

export interface ChunkResult {
  status: 'done' | 'already' | 'batch-ended';
  rows: number;
  rejected: number;
  ms: number;
}

interface PlannedBatch {
  batch: BatchRecord;
  catalog: Catalog;
  run: (rows: Row[]) => ReturnType<ReturnType<typeof makePipeline>>;
}

/**
 * Stage plans per batch, so a worker plans a batch once for all the chunks it takes (bounded). With a
 * thread pool (pipelines/chunk-worker.js) the stages run there; without one, in this thread.
 */
export function makeChunkProcessor(deps: FlowDeps, threads?: ThreadPool<ChunkTask, ChunkOutput>) {
  const plans = new Map<string, PlannedBatch>();
  // The threads' COPY output buffers come back here after their COPY and go out again with the next tasks;
  // a chunk file's bytes come back from the thread and are freed at once. Dropped as garbage instead,
  // they piled up as external memory and set off a full collection every chunk or two (bench/CHOICES.md).
  const buffers = new BufferPool(4);
  let sinkBytes = 0;

  const plan = async (batchId: string): Promise<PlannedBatch | undefined> => {
    const cached = plans.get(batchId);
    if (cached) return cached;
    const batch = await getBatch(deps.warehouse, batchId);
    if (batch?.status !== 'running') return undefined; // gone or ended (failed): nothing to add to it
    const catalog = deps.catalogs.list.find((c) => c.id === batch.catalog);
    if (!catalog || !batch.context) {
      throw internalError(
        'BATCH_CONTEXT_MISSING',
        `批次 ${batchId} 缺少处理所需的信息。`,
        `batch ${batchId} has no ${catalog ? 'stage context' : `catalog ${batch.catalog}`}`,
      );
    }
    const ctx: StageContext = {
      catalog,
      county: batch.context.county,
      today: batch.context.today,
      headers: batch.context.headers,
      columns: batch.context.columns,
      defaults: batch.context.defaults,
      reference: deps.reference,
    };
    const planned = { batch, catalog, run: makePipeline(ctx) };
    plans.set(batchId, planned);
    if (plans.size > 32) plans.delete(plans.keys().next().value as string);
    return planned;
  };

  return async function processChunk(batchId: string, chunkNo: number): Promise<ChunkResult> {
    const t0 = performance.now();
    const ref = { batchId, chunkNo };
    const none = (status: ChunkResult['status']): ChunkResult => ({ status, rows: 0, rejected: 0, ms: 0 });
    if ((await chunkStatus(deps.warehouse, ref)) !== 'pending') return none('already');
    const p = await plan(batchId);
    if (!p) return none('batch-ended');
    const missing = (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
      throw internalError(
        'CHUNK_FILE_MISSING',
        `批次 ${batchId} 的第 ${chunkNo} 个分片文件不见了（暂存目录 ${deps.spool.root} 是否被清理，或各工作进程看到的不是同一目录？）。`,
        `chunk file ${chunkNo} of batch ${batchId} is missing from the spool ${deps.spool.root}`,
      );
    };
    const prov = { batchId, file: p.batch.file, sheet: p.batch.sheet ?? undefined };
    let out: ChunkOutput;
    if (threads) {
      // The thread reads the chunk file, runs the stages and encodes the COPY text: no rows cross threads.
      const ctx = p.batch.context as FrozenContext;
      const sink = buffers.take(sinkBytes);
      out = await threads
        .run(
          {
            spec: {
              batchKey: batchId,
              catalogId: p.catalog.id,
              county: ctx.county,
              today: ctx.today,
              headers: ctx.headers,
              columns: ctx.columns,
              defaults: ctx.defaults,
            },
            prov,
            chunkFile: { spool: deps.spool.root, batchId, chunkNo },
            ...(sink ? { sink } : {}),
          },
          sink ? [sink] : undefined,
        )
        .catch(missing);
      if (out.spent) {
        // The next chunk's COPY text needs about as much room as this one's (chunks have equal rows).
        sinkBytes = copyBytesForCsv(out.spent.byteLength);
        releaseBuffer(out.spent);
      }
    } else {
      const chunk = await deps.spool.readChunk(batchId, chunkNo).catch(missing);
      const records = chunkRecords(chunk);
      const result = p.run(toRows(records, prov));
      out = splitChunk(result.rows, result.stageMs, undefined, rejectionIdColumn(p.batch.context?.headers ?? []));
    }
    const batchInfo = {
      id: batchId,
      file: p.batch.file,
      sheet: p.batch.sheet,
      catalog: p.batch.catalog,
      county: p.batch.county ?? '',
    };
    const headers = p.batch.context?.headers ?? [];
    const tLoad = performance.now();
    const done = await deps.warehouse.knex.transaction(async (knex) => {
      const trx: Warehouse = { ...deps.warehouse, knex };
      if ((await lockChunk(trx, ref)) !== 'pending') return false; // another worker did it meanwhile
      if (out.staged) await stageEncoded(trx, p.catalog, batchId, out.staged);
      else await stageRows(trx, p.catalog, batchInfo, out.valid ?? []);
      // Rows rejected again go into their original rejections; loaded rows' links commit with the chunk.
      await saveChunkRejections(trx, linkWriter(batchInfo, headers, resolverOf(p.batch)), out);
      await saveWarnings(trx, batchId, out.warned);
      await markChunkDone(trx, {
        ...ref,
        rows: out.validCount + out.rejected.length,
        rejected: out.rejected.length,
        warnings: countWarnings(out.warned),
        stageMs: roundMs({ ...out.stageMs, stage: performance.now() - tLoad }),
        worker: deps.worker,
        keyPrints: out.prints,
      });
      return true;
    });
    const copied = out.staged?.data;
    if (copied instanceof Uint8Array) buffers.give(copied.buffer);
    if (!done) return none('already');
    await deps.spool.removeChunk(batchId, chunkNo);
    // The last chunk of a collected batch asks for the merge (finalize checks again: asking twice is fine).
    const latest = await getBatch(deps.warehouse, batchId);
    if (latest?.chunksTotal != null && (await pendingChunkCount(deps.warehouse, batchId)) === 0) {
      await deps.enqueue.finalize(batchId);
    }
    const rows = out.validCount + out.rejected.length;
    return { status: 'done', rows, rejected: out.rejected.length, ms: performance.now() - t0 };
  };
}
