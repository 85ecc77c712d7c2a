/**
 * Ingest: a file → its sheets → one batch each → stages → warehouse, with a ledger that adds up.
 * The row work (clean → normalize → validate → key) goes through a ChunkRunner, so the same code
 * runs in this thread, in worker threads, or (later) in BullMQ workers.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { chunkRecords } from '../connectors/csv/read-csv.js';
import { matchHeader } from '../connectors/header.js';
import { openSource } from '../connectors/open-source.js';
import type { CatalogSet } from '../src/catalog/load.js';
import type { Catalog } from '../src/catalog/types.js';
import type { Clock } from '../src/clock.js';
import type { GuijiConfig } from '../src/config.js';
import { type GuijiError, inputError, interruptedError, isGuijiError } from '../src/errors.js';
import { BufferPool, releaseBuffer } from '../src/executors/buffer-pool.js';
import { newBatchId } from '../src/ids.js';
import { processOwner } from '../src/owner.js';
import type { ReferenceData, StageContext } from '../src/pipeline.js';
import type { CsvBytesChunk, MatchedSheet, RawRecord, ReadOptions, SkippedSheet } from '../src/source.js';
import { type BatchSummary, emptyCounts, type Logger, type Row } from '../src/types.js';
import {
  type BatchFinish,
  type BatchKind,
  createBatch,
  type FrozenContext,
  finishBatch,
  setBatchFileSha,
} from '../src/warehouse/batches.js';
import { copyBytesForCsv, RECORDS_COPY_BYTES } from '../src/warehouse/copy-text.js';
import {
  dropStaged,
  openScratchStaging,
  predictMerge,
  type ScratchStaging,
  stageEncoded,
  stageRows,
} from '../src/warehouse/load.js';
import type { Warehouse } from '../src/warehouse/open.js';
import { resolveLinks } from '../src/warehouse/rejection-links.js';
import { deleteBatchRows, saveWarnings } from '../src/warehouse/rejections.js';
import { resolveCounty, resolveDefaults, sheetChunks } from './batch-setup.js';
import { type ChunkOutput, type ChunkRunner, type ChunkRunnerFactory, inlineChunkRunner } from './chunk-runner.js';
import { IngestMerge } from './ingest-merge.js';
import { checkLedger, countWarnings, mergeWithDuplicateWarnings, recordMerge, roundMs } from './ledger.js';
import {
  linkWriter,
  prepareLinkedRecords,
  resolverOf,
  saveChunkRejections,
  withoutRejectionIdColumn,
} from './rejection-links.js';

/** Rejected and warned rows gathered before they are written (see saveReview). */
const REVIEW_ROWS_PER_WRITE = 2000;

/** What ingest needs, passed explicitly. */
export interface IngestDeps {
  config: GuijiConfig;
  warehouse: Warehouse;
  catalogs: CatalogSet;
  reference: ReferenceData;
  clock: Clock;
  logger: Logger;
  /** How chunks are processed; default: in this thread. */
  runner?: ChunkRunnerFactory;
  /** Called now and then on long files (rows read so far). */
  onProgress?: (p: IngestProgress) => void;
}

export interface IngestProgress {
  file: string;
  sheet?: string;
  catalog: string;
  rows: number;
  phase: 'read' | 'merge';
  elapsedMs: number;
}

export interface IngestOptions extends ReadOptions {
  county?: string;
  dryRun?: boolean;
  /** Where the batch comes from (default 'file'). */
  kind?: BatchKind;
  /** Who started it (a username), for the ledger and for resolving rejections. */
  createdBy?: string;
  /**
   * Check and stage only: rows are cleaned, validated, keyed and staged, rejections saved, outcomes
   * predicted; the batch waits as 'staged' for commitHeldBatch or cancelHeldBatch (pipelines/held.ts).
   */
  hold?: boolean;
  /** A clerk's county: the file must belong to it (it is used when the file does not say). */
  ownCounty?: string;
  /**
   * The operator's stop (Ctrl-C). Seen between chunks while a sheet is read: the batch is marked failed
   * and what it left (staged rows, rejections, warnings) is removed, since none of it was loaded. A
   * merge already under way is finished; the next sheet or file is not started.
   */
  signal?: AbortSignal;
}

/** Records already in memory (a fix from the review page, an API): header texts in column order. */
export interface RecordSource {
  /** Name shown for the batch (no path is opened). */
  file: string;
  sheet?: string;
  catalog: Catalog;
  headers: string[];
  records: RawRecord[];
}

/** The result for one file: a summary per ingested sheet, the sheets skipped, or the error that refused it. */
export interface FileResult {
  file: string;
  summaries: BatchSummary[];
  skipped: SkippedSheet[];
  error?: GuijiError;
}

/** Ingests one file. Input problems and an operator's stop come back as `error` (exit code 2, 130/143); internal failures throw. */
export async function ingestFile(deps: IngestDeps, file: string, opts: IngestOptions = {}): Promise<FileResult> {
  const result: FileResult = { file, summaries: [], skipped: [] };
  const sha = opts.dryRun ? Promise.resolve(null) : sha256File(file).catch(() => null);
  try {
    throwIfStopped(opts.signal, file, null, null);
    // With threads, chunk buffers go round (reader → thread → COPY → reader) instead of being allocated anew.
    const buffers = deps.runner?.takesBytes ? new BufferPool() : undefined;
    const chunkBytes = deps.config.csvChunkBytes;
    for await (const ev of openSource(file, deps.catalogs.list, {
      ...opts,
      buffers,
      ...(chunkBytes !== undefined ? { chunkBytes } : {}),
    })) {
      if (ev.kind === 'skipped') {
        result.skipped.push(ev.skipped);
        deps.logger.info({ file, sheet: ev.skipped.sheet, code: ev.skipped.code }, ev.skipped.en);
        continue;
      }
      throwIfStopped(opts.signal, file, null, null);
      result.summaries.push(await ingestSheet(deps, ev.sheet, opts, sha, buffers));
    }
    if (result.summaries.length === 0 && !result.error) {
      const reasons = result.skipped.map((s) => `${s.sheet ?? ''}：${s.zh}`).join('；');
      result.error = inputError(
        'NO_SHEET_MATCHED',
        `文件 ${opts.displayName ?? path.basename(file)} 中没有可导入的工作表。${reasons}`,
        `no sheet of ${file} matched a catalog`,
        { file },
      );
    }
  } catch (e) {
    // An operator's stop also comes back as the file's error: the sheets done before it are reported.
    if (isGuijiError(e) && (e.kind === 'input' || e.kind === 'interrupted')) result.error = e;
    else throw e;
  }
  return result;
}

/**
 * Runs in-memory records through exactly the path a file's sheet takes (one batch). The headers are
 * bound to the given catalog by the same matcher the readers use; a header row that binds no field
 * is an input error.
 */
export async function ingestRecords(
  deps: IngestDeps,
  src: RecordSource,
  opts: IngestOptions = {},
): Promise<BatchSummary> {
  const match = matchHeader(src.headers, [src.catalog], { minScore: 1 });
  if (!match) {
    throw inputError(
      'NO_HEADER',
      `${src.file} 的表头与目录“${src.catalog.title}”的任何一列都对不上。`,
      `the headers of ${src.file} bind no field of catalog ${src.catalog.id}`,
      { file: src.file },
    );
  }
  const size = Math.max(1, opts.chunkSize ?? 2000);
  const records = src.records;
  const sheet: MatchedSheet = {
    file: src.file,
    sheet: src.sheet,
    headerRow: opts.headerRow ?? 1,
    headers: match.headers,
    catalog: src.catalog,
    columns: match.columns,
    unmatched: match.unmatched,
    records: (async function* () {
      for (let i = 0; i < records.length; i += size) yield records.slice(i, i + size);
    })(),
  };
  return ingestSheet(deps, sheet, { displayName: src.file, ...opts }, Promise.resolve(null));
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  // 1 MB reads: half the CPU of the stream's default 64 KB for a large file.
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** One sheet = one batch. */
async function ingestSheet(
  deps: IngestDeps,
  matched: MatchedSheet,
  opts: IngestOptions,
  fileSha256: Promise<string | null>,
  buffers?: BufferPool,
): Promise<BatchSummary> {
  const started = performance.now();
  const sheet = withoutRejectionIdColumn(matched);
  const { catalog } = sheet;
  // Runners with threads take a large CSV as bytes (the threads split them).
  const iterator = sheetChunks(sheet, deps.runner?.takesBytes === true);
  const tFirst = performance.now();
  const first = await iterator.next();
  const firstReadMs = performance.now() - tFirst;
  const firstChunk: RawRecord[] = first.done ? [] : chunkRecords(first.value);

  const county =
    opts.ownCounty !== undefined
      ? ownCounty(deps, sheet, firstChunk, opts.ownCounty)
      : resolveCounty(deps, sheet, firstChunk, opts.county);
  const defaults = resolveDefaults(deps, sheet, county);
  const batchId = opts.dryRun ? null : newBatchId(deps.clock.now());
  const log = deps.logger.child({ batchId, file: sheet.file, sheet: sheet.sheet, catalog: catalog.id });

  const stageCtx: StageContext = {
    catalog,
    county,
    today: deps.clock.today(),
    headers: sheet.headers,
    columns: sheet.columns,
    defaults,
    reference: deps.reference,
  };
  const runner: ChunkRunner = (deps.runner ?? inlineChunkRunner)(stageCtx);
  const batchInfo = {
    id: batchId ?? 'dry-run',
    file: opts.displayName ?? path.basename(sheet.file),
    sheet: sheet.sheet ?? null,
    catalog: catalog.id,
    county,
  };
  const context: FrozenContext = {
    headers: sheet.headers,
    columns: sheet.columns,
    defaults,
    county,
    today: stageCtx.today,
    headerRow: sheet.headerRow,
    encoding: sheet.encoding,
  };
  const hold = opts.hold === true && !opts.dryRun;
  if (batchId) {
    await createBatch(deps.warehouse, {
      ...batchInfo,
      id: batchId,
      fileSha256: null,
      kind: opts.kind ?? 'file',
      createdBy: opts.createdBy ?? null,
      context,
      owner: processOwner(),
    });
  }
  // The file's hash is read beside the sheet, not before it (a 1M-row CSV waited ~0.6 s for it); it is
  // written to the ledger row as soon as it is known, which is well before the batch ends.
  const shaSaved = batchId
    ? fileSha256
        .then((sha) => (sha ? setBatchFileSha(deps.warehouse, batchId, sha) : undefined))
        .catch((err) => log.warn({ err }, 'could not record the file hash'))
    : undefined;
  const resolvedBy = resolverOf({ createdBy: opts.createdBy, file: batchInfo.file });
  const links = linkWriter(batchInfo, sheet.headers, resolvedBy, hold);

  const stageMs: Record<string, number> = { read: firstReadMs };
  const counts = emptyCounts();
  let total = 0;
  let warnings = 0;
  // A dry run stages its valid rows as a run does, into a temporary copy of the staging table that is
  // discarded at the end, and asks the warehouse what the merge would do (memory stays flat).
  let dry: ScratchStaging | undefined;
  // A batch that is loaded now merges while it is staged: rows with a key new to the batch at once, the
  // repeats at the end (src/warehouse/merge-as-staged.ts). A dry run and a held batch only stage.
  const merging =
    batchId && !opts.dryRun && !hold
      ? new IngestMerge(deps.warehouse, catalog, batchId, () => progress('merge'))
      : undefined;

  const progress = (phase: IngestProgress['phase']) =>
    deps.onProgress?.({
      file: sheet.file,
      sheet: sheet.sheet,
      catalog: catalog.id,
      rows: total,
      phase,
      elapsedMs: performance.now() - started,
    });

  try {
    if (opts.dryRun) dry = await openScratchStaging(deps.warehouse, catalog);
    // Chunks go to the runner (several in flight when it has threads) while the reader reads on; writes
    // to the warehouse are chained so one COPY runs at a time. Any failure ends the batch.
    let writes: Promise<void> = Promise.resolve();
    const inflight = new Set<Promise<void>>();
    const handle = async (out: ChunkOutput, chunkNo: number) => {
      for (const [k, v] of Object.entries(out.stageMs)) stageMs[k] = (stageMs[k] ?? 0) + v;
      merging?.beforeStaging(out);
      counts.rejected += out.rejected.length;
      warnings += countWarnings(out.warned);
      const t0 = performance.now();
      if (out.staged) {
        await stageEncoded(deps.warehouse, catalog, batchInfo.id, out.staged, dry);
        const written = out.staged.data;
        if (typeof written !== 'string') {
          if (buffers) buffers.give(written.buffer);
          else releaseBuffer(written.buffer);
        }
      } else if (out.valid) await stageRows(deps.warehouse, catalog, batchInfo, out.valid, dry);
      stageMs.stage = (stageMs.stage ?? 0) + (performance.now() - t0);
      merging?.afterStaging(chunkNo, out);
      if (dry) return; // nothing of a dry run is kept for review
      for (const r of out.rejected) review.rejected.push(r);
      for (const r of out.warned) review.warned.push(r);
      for (const l of out.links) review.links.push(l);
      if (review.rejected.length + review.warned.length >= REVIEW_ROWS_PER_WRITE) await saveReview();
    };
    // Rejected and warned rows are written a few thousand at a time, not per chunk: a chunk holds a
    // handful, and two statements per chunk cost more than its COPY (measured ~6 s per 1M rows).
    const review = { rejected: [] as Row[], warned: [] as Row[], links: [] as Array<[number, number]> };
    const saveReview = async () => {
      const t0 = performance.now();
      const { rejected, warned, links: linked } = review;
      review.rejected = [];
      review.warned = [];
      review.links = [];
      await saveChunkRejections(deps.warehouse, links, { rejected, links: linked });
      await saveWarnings(deps.warehouse, batchInfo.id, warned);
      stageMs.reject = (stageMs.reject ?? 0) + (performance.now() - t0);
    };
    const prov = { batchId: batchInfo.id, file: batchInfo.file, sheet: sheet.sheet };
    const limit = Math.max(1, runner.parallelism ?? 1);

    let chunk: RawRecord[] | CsvBytesChunk | undefined = firstChunk;
    let chunks = 0;
    while (chunk) {
      let running: Promise<ChunkOutput> | null = null;
      if (!Array.isArray(chunk)) {
        // Counted when its rows come back: only the thread knows how many are not empty.
        const sink = buffers?.take(copyBytesForCsv(chunk.bytes.byteLength));
        running = (runner.runBytes as NonNullable<ChunkRunner['runBytes']>)(chunk, prov, sink).then((out) => {
          total += out.validCount + out.rejected.length;
          buffers?.give(out.spent);
          return out;
        });
      } else if (chunk.length > 0) {
        total += chunk.length;
        if (links.column >= 0) {
          // A dry run's transaction holds a connection (PGlite's only one): its lookups go through it.
          await prepareLinkedRecords(
            dry?.wh ?? deps.warehouse,
            { ...batchInfo, batchId: batchInfo.id },
            sheet.headers,
            chunk,
          );
        }
        // Workbook rows: their COPY text goes into a buffer used before, as a CSV chunk's does.
        running = runner.run(chunk, prov, buffers?.take(RECORDS_COPY_BYTES));
      }
      if (running) {
        const chunkNo = chunks++;
        const done = running.then((out) => {
          writes = writes.then(() => handle(out, chunkNo));
          return writes;
        });
        inflight.add(done);
        done.then(
          () => inflight.delete(done),
          () => {},
        );
        while (inflight.size >= limit) await Promise.race(inflight);
        progress('read');
      }
      if (opts.signal?.aborted) {
        // Let the chunks in hand finish writing, so nothing of this batch lands after it is cleaned up.
        await Promise.allSettled(inflight);
        await writes.catch(() => {});
        throwIfStopped(opts.signal, batchInfo.file, batchId, total);
      }
      const tRead = performance.now();
      const next: IteratorResult<RawRecord[] | CsvBytesChunk> = await iterator.next();
      stageMs.read = (stageMs.read ?? 0) + (performance.now() - tRead);
      chunk = next.done ? undefined : next.value;
    }
    await Promise.all(inflight);
    await writes;
    if (!dry) await saveReview();
    await runner.close();

    if (dry || (batchId && hold)) {
      // A dry run, or held: the outcomes the merge would have now; nothing reaches the catalog table (a
      // held batch's rows wait in staging for its commit).
      const t0 = performance.now();
      const p = await predictMerge(deps.warehouse, catalog, batchInfo.id, dry);
      stageMs.predict = performance.now() - t0;
      counts.inserted = p.inserted;
      counts.updated = p.updated;
      counts.unchanged = p.unchanged;
      counts.duplicate = p.duplicate;
      warnings += p.duplicateWarnings;
    } else if (batchId) {
      progress('merge');
      const merged = await mergeWithDuplicateWarnings(
        deps.warehouse,
        catalog,
        { id: batchId, file: batchInfo.file, sheet: sheet.sheet },
        {},
        () => (merging as IngestMerge).finish(),
      );
      recordMerge(counts, merged, stageMs);
      warnings += merged.duplicateWarnings;
    }

    checkLedger(counts, total, batchId);
    const summary: BatchSummary = {
      batchId,
      file: batchInfo.file,
      sheet: sheet.sheet ?? null,
      catalog: catalog.id,
      county,
      total,
      ...counts,
      warnings,
      durationMs: Math.round(performance.now() - started),
    };
    if (batchId) {
      await shaSaved;
      const finish = { counts, total, warnings, stageMs: roundMs(stageMs) };
      await closeBatch(deps.warehouse, batchInfo, finish, hold ? 'staged' : 'done', resolvedBy);
    }
    log.info({ ...summary }, hold ? 'batch staged' : 'batch done');
    return summary;
  } catch (e) {
    await runner.close().catch(() => {});
    // Whatever it merged is rolled back: the catalog table is as it was before the batch.
    await merging?.abort().catch((err) => log.error({ err }, 'could not roll back the merge'));
    if (batchId) {
      await shaSaved;
      await finishBatch(
        deps.warehouse,
        batchId,
        { counts, total, warnings, stageMs: roundMs(stageMs), error: (e as Error).message },
        'failed',
      ).catch((err) => log.error({ err }, 'could not mark the batch failed'));
      if (isGuijiError(e) && e.kind === 'interrupted') {
        // Stopped while reading: nothing reached the catalog table, so its rows are not left for review
        // either (running the file again makes a batch of its own).
        await dropBatchLeftovers(deps.warehouse, catalog, batchId).catch((err) =>
          log.error({ err }, 'could not remove what the interrupted batch left'),
        );
      }
    }
    throw e;
  } finally {
    // Rolled back: nothing of a dry run stays in the warehouse.
    await dry?.discard().catch((err) => log.error({ err }, 'could not discard the dry run scratch table'));
  }
}

async function dropBatchLeftovers(wh: Warehouse, catalog: Catalog, batchId: string): Promise<void> {
  await dropStaged(wh, catalog, batchId);
  await deleteBatchRows(wh, batchId);
}

function throwIfStopped(
  signal: AbortSignal | undefined,
  file: string,
  batchId: string | null,
  rows: number | null,
): void {
  if (!signal?.aborted) return;
  const sig = typeof signal.reason === 'string' ? signal.reason : 'SIGINT';
  const name = path.basename(file);
  const again = '重新运行同一命令即可重新导入。';
  let zh: string;
  let en: string;
  if (rows === null) {
    zh = `已中断：文件 ${name} 未开始导入。${again}`;
    en = `interrupted (${sig}) before ${name} was started`;
  } else if (batchId) {
    zh = `已中断：文件 ${name} 读到第 ${rows} 行时停止，本批次（${batchId}）未入库，已清除其暂存数据和退回记录。${again}`;
    en = `interrupted (${sig}) while reading ${name} after ${rows} rows; batch ${batchId} marked failed, its staged rows and rejections removed`;
  } else {
    zh = `已中断：试运行在文件 ${name} 读到第 ${rows} 行时停止（试运行不写入数据仓库）。`;
    en = `interrupted (${sig}) during a dry run of ${name} after ${rows} rows`;
  }
  throw interruptedError(sig, zh, en, {
    file: name,
    ...(batchId ? { batchId } : {}),
    ...(rows !== null ? { rows } : {}),
  });
}

/**
 * Ends a batch in one transaction: its ledger entry, and (done) the rejections its rows resolved.
 * A staged (held) batch resolves nothing yet.
 */
export async function closeBatch(
  wh: Warehouse,
  batch: { id: string; file: string },
  finish: BatchFinish,
  status: 'done' | 'staged',
  resolvedBy: string,
): Promise<void> {
  await wh.knex.transaction(async (knex) => {
    const trx: Warehouse = { ...wh, knex };
    const ok = await finishBatch(trx, batch.id, finish, status);
    if (ok && status === 'done') await resolveLinks(trx, batch, resolvedBy);
  });
}

/**
 * A clerk's file: the county it says (the data-source unit's USCC) must be the clerk's own; a file
 * that says none is the clerk's county.
 */
function ownCounty(deps: IngestDeps, sheet: MatchedSheet, firstChunk: RawRecord[], own: string): string {
  let found: string;
  try {
    found = resolveCounty(deps, sheet, firstChunk);
  } catch (e) {
    if (isGuijiError(e) && e.code === 'COUNTY_UNKNOWN') return resolveCounty(deps, sheet, firstChunk, own);
    throw e;
  }
  if (found !== own) {
    const name = path.basename(sheet.file);
    throw inputError(
      'COUNTY_MISMATCH',
      `文件 ${name} 的数据来源单位属于区县 ${found}，与您的账号所属区县 ${own} 不一致，不能由您报送。请核对文件，或联系数据管理员。`,
      `${name} belongs to county ${found}, the user's county is ${own}`,
      { file: name, county: found, own },
    );
  }
  return found;
}
