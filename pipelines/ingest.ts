/**
 * Ingest: a file → its sheets → one batch each → stages → warehouse, with a ledger that adds up.
 * The row work (clean → normalize → validate → key) goes through a ChunkRunner, so the same code
 * runs in this thread, in worker threads, or (later) in BullMQ workers.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { openSource } from '../connectors/open-source.js';
import type { CatalogSet } from '../src/catalog/load.js';
import type { Catalog } from '../src/catalog/types.js';
import type { Clock } from '../src/clock.js';
import type { GuijiConfig } from '../src/config.js';
import { type GuijiError, inputError, isGuijiError } from '../src/errors.js';
import { newBatchId } from '../src/ids.js';
import type { ReferenceData, StageContext } from '../src/pipeline.js';
import type { MatchedSheet, RawRecord, ReadOptions, SkippedSheet } from '../src/source.js';
import { type BatchSummary, emptyCounts, type Logger, type OutcomeCounts, type Row } from '../src/types.js';
import { createBatch, finishBatch } from '../src/warehouse/batches.js';
import { lookupExisting, mergeBatch, stageEncoded, stageRows } from '../src/warehouse/load.js';
import type { Warehouse } from '../src/warehouse/open.js';
import { appendWarnings, saveRejections, saveWarnings } from '../src/warehouse/rejections.js';
import { resolveCounty, resolveDefaults } from './batch-setup.js';
import { type ChunkOutput, type ChunkRunner, type ChunkRunnerFactory, inlineChunkRunner } from './chunk-runner.js';
import { checkLedger, countWarnings, roundMs, warningRow } from './ledger.js';
import { duplicateDiffers } from './messages.js';

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
}

/** The result for one file: a summary per ingested sheet, the sheets skipped, or the error that refused it. */
export interface FileResult {
  file: string;
  summaries: BatchSummary[];
  skipped: SkippedSheet[];
  error?: GuijiError;
}

/** Ingests one file. Input problems come back as `error` (exit code 2); internal failures throw. */
export async function ingestFile(deps: IngestDeps, file: string, opts: IngestOptions = {}): Promise<FileResult> {
  const result: FileResult = { file, summaries: [], skipped: [] };
  const sha = opts.dryRun ? Promise.resolve(null) : sha256File(file).catch(() => null);
  try {
    for await (const ev of openSource(file, deps.catalogs.list, opts)) {
      if (ev.kind === 'skipped') {
        result.skipped.push(ev.skipped);
        deps.logger.info({ file, sheet: ev.skipped.sheet, code: ev.skipped.code }, ev.skipped.en);
        continue;
      }
      result.summaries.push(await ingestSheet(deps, ev.sheet, opts, await sha));
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
    if (isGuijiError(e) && e.kind === 'input') result.error = e;
    else throw e;
  }
  return result;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** One sheet = one batch. */
async function ingestSheet(
  deps: IngestDeps,
  sheet: MatchedSheet,
  opts: IngestOptions,
  fileSha256: string | null,
): Promise<BatchSummary> {
  const started = performance.now();
  const { catalog } = sheet;
  const iterator = sheet.records[Symbol.asyncIterator]();
  const tFirst = performance.now();
  const first = await iterator.next();
  const firstReadMs = performance.now() - tFirst;
  const firstChunk: RawRecord[] = first.done ? [] : first.value;

  const county = resolveCounty(deps, sheet, firstChunk, opts.county);
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
  if (batchId) await createBatch(deps.warehouse, { ...batchInfo, id: batchId, fileSha256 });

  const stageMs: Record<string, number> = { read: firstReadMs };
  const counts = emptyCounts();
  let total = 0;
  let warnings = 0;
  const dry = opts.dryRun ? new DryRunLedger() : null;

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
    // Chunks go to the runner (several in flight when it has threads) while the reader reads on; writes
    // to the warehouse are chained so one COPY runs at a time. Any failure ends the batch.
    let writes: Promise<void> = Promise.resolve();
    const inflight = new Set<Promise<void>>();
    const handle = async (out: ChunkOutput) => {
      for (const [k, v] of Object.entries(out.stageMs)) stageMs[k] = (stageMs[k] ?? 0) + v;
      counts.rejected += out.rejected.length;
      warnings += countWarnings(out.warned);
      if (dry) {
        dry.add(out.valid ?? []);
        return;
      }
      let t0 = performance.now();
      if (out.staged) await stageEncoded(deps.warehouse, catalog, batchInfo.id, out.staged);
      else if (out.valid) await stageRows(deps.warehouse, catalog, batchInfo, out.valid);
      stageMs.stage = (stageMs.stage ?? 0) + (performance.now() - t0);
      t0 = performance.now();
      await saveRejections(deps.warehouse, batchInfo, out.rejected, sheet.headers);
      await saveWarnings(deps.warehouse, batchInfo.id, out.warned);
      stageMs.reject = (stageMs.reject ?? 0) + (performance.now() - t0);
    };
    const prov = { batchId: batchInfo.id, file: batchInfo.file, sheet: sheet.sheet };
    const limit = Math.max(1, runner.parallelism ?? 1);

    let chunk: RawRecord[] | undefined = firstChunk;
    while (chunk) {
      if (chunk.length > 0) {
        total += chunk.length;
        const done = runner.run(chunk, prov).then((out) => {
          writes = writes.then(() => handle(out));
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
      const tRead = performance.now();
      const next = await iterator.next();
      stageMs.read = (stageMs.read ?? 0) + (performance.now() - tRead);
      chunk = next.done ? undefined : next.value;
    }
    await Promise.all(inflight);
    await writes;
    await runner.close();

    if (dry) {
      const r = await dry.resolve(deps.warehouse, catalog);
      counts.inserted = r.inserted;
      counts.updated = r.updated;
      counts.unchanged = r.unchanged;
      counts.duplicate = r.duplicate;
      warnings += r.duplicateWarnings;
    } else if (batchId) {
      progress('merge');
      const t0 = performance.now();
      const merged = await mergeBatch(deps.warehouse, catalog, batchId, {
        onProgress: () => progress('merge'),
      });
      stageMs.merge = performance.now() - t0;
      for (const [k, v] of Object.entries(merged.timings)) stageMs[`merge_${k}`] = v;
      counts.inserted = merged.inserted;
      counts.updated = merged.updated;
      counts.unchanged = merged.unchanged;
      counts.duplicate = merged.duplicate;
      if (merged.duplicateWarnings.length > 0) {
        warnings += merged.duplicateWarnings.length;
        await appendWarnings(
          deps.warehouse,
          batchId,
          merged.duplicateWarnings.map((d) =>
            warningRow(
              batchInfo.id,
              { file: batchInfo.file, sheet: sheet.sheet },
              d.rowNumber,
              duplicateDiffers(d.winnerRow),
            ),
          ),
        );
      }
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
      await finishBatch(deps.warehouse, batchId, { counts, total, warnings, stageMs: roundMs(stageMs) }, 'done');
    }
    log.info({ ...summary }, 'batch done');
    return summary;
  } catch (e) {
    await runner.close().catch(() => {});
    if (batchId) {
      await finishBatch(
        deps.warehouse,
        batchId,
        { counts, total, warnings, stageMs: roundMs(stageMs), error: (e as Error).message },
        'failed',
      ).catch((err) => log.error({ err }, 'could not mark the batch failed'));
    }
    throw e;
  }
}

/** For --dry-run: the outcomes the load would have had, computed without writing. */
class DryRunLedger {
  private readonly latest = new Map<string, { hash: string; row: number }>();
  private duplicates = 0;
  private differs = 0;

  add(rows: Row[]): void {
    for (const r of rows) {
      const key = r.key as string;
      const hash = r.hash as string;
      const prev = this.latest.get(key);
      if (prev) {
        this.duplicates++;
        if (prev.hash !== hash) this.differs++;
      }
      this.latest.set(key, { hash, row: r.prov.rowNumber });
    }
  }

  async resolve(
    wh: Warehouse,
    catalog: Catalog,
  ): Promise<Omit<OutcomeCounts, 'rejected'> & { duplicateWarnings: number }> {
    let inserted = 0;
    let updated = 0;
    let unchanged = 0;
    const keys = [...this.latest.keys()];
    for (let i = 0; i < keys.length; i += 5000) {
      const part = keys.slice(i, i + 5000);
      const existing = await lookupExisting(wh, catalog, part);
      for (const k of part) {
        const have = existing.get(k);
        if (have === undefined) inserted++;
        else if (have === this.latest.get(k)?.hash) unchanged++;
        else updated++;
      }
    }
    return { inserted, updated, unchanged, duplicate: this.duplicates, duplicateWarnings: this.differs };
  }
}
