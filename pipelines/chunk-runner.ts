import type { Catalog } from '../src/catalog/types.js';
import type { ThreadPool } from '../src/executors/thread-pool.js';
import type { StageContext } from '../src/pipeline.js';
import { hasError } from '../src/pipeline.js';
import type { CsvBytesChunk, RawRecord } from '../src/source.js';
import type { Row } from '../src/types.js';
import { type EncodedStaging, encodeStaging, type StageBatch } from '../src/warehouse/copy-text.js';
import type { ChunkTask, StageSpec } from './chunk-worker.js';
import { keyPrints } from './key-index.js';
import { parseRejectionId, rejectionIdColumn } from './rejection-id.js';
import { makePipeline } from './stages.js';

/** A chunk after the row stages: rows to stage (with key and hash) and rows to reject. */
export interface ChunkOutput {
  /** Rows to stage, as rows (inline runner, dry runs) … */
  valid: Row[] | null;
  /** … or already encoded for COPY (thread runner: only a string crosses the thread boundary). */
  staged: EncodedStaging | null;
  validCount: number;
  /** Valid rows that carry warnings (stored with the batch): row number, key and issues only. */
  warned: Row[];
  rejected: Row[];
  /** Valid rows that carried a rejection id: [row number, rejection id] (their cells may be encoded away). */
  links: Array<[number, number]>;
  stageMs: Record<string, number>;
  /** [row number, key print] of the rows to stage (pipelines/key-index.ts). */
  prints: Int32Array;
  /** The CSV bytes' buffer, back from a thread for the reader to use again (runBytes with threads). */
  spent?: ArrayBuffer;
}

/** Runs the row stages over chunks of one batch. */
export interface ChunkRunner {
  /** `sink`: a used buffer for the COPY output (BufferPool), moved to the thread (runners with threads). */
  run(records: RawRecord[], prov: ChunkProvenance, sink?: ArrayBuffer): Promise<ChunkOutput>;
  /** CSV bytes split and numbered where the stages run (runners with threads; the bytes move there). */
  runBytes?(chunk: CsvBytesChunk, prov: ChunkProvenance, sink?: ArrayBuffer): Promise<ChunkOutput>;
  /** Chunks worth having in flight at once (threads); 1 for the inline runner. */
  parallelism?: number;
  close(): Promise<void>;
}

export interface ChunkProvenance {
  batchId: string;
  file: string;
  sheet?: string;
}

/** Rows from raw records, with the provenance a clerk needs to find them. */
export function toRows(records: RawRecord[], prov: ChunkProvenance): Row[] {
  const rows: Row[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as RawRecord;
    rows[i] = {
      prov: { batchId: prov.batchId, file: prov.file, sheet: prov.sheet, rowNumber: r.rowNumber },
      cells: r.cells,
      values: {},
      issues: r.issues ? [...r.issues] : [],
    };
  }
  return rows;
}

export type ChunkRunnerFactory = ((ctx: StageContext) => ChunkRunner) & {
  /** Its runners have runBytes: a reader may hand over CSV bytes instead of records. */
  takesBytes?: boolean;
};

/**
 * Splits a processed chunk by outcome. `linkColumn` (the rejection id column, -1 for none): the ids
 * valid rows carry are kept as links, since encoding for COPY drops their cells.
 */
export function splitChunk(
  rows: Row[],
  stageMs: Record<string, number>,
  encode?: StageBatch & { catalog: Catalog },
  linkColumn = -1,
): ChunkOutput {
  const valid: Row[] = [];
  const rejected: Row[] = [];
  const warned: Row[] = [];
  const links: Array<[number, number]> = [];
  for (const r of rows) {
    if (hasError(r)) rejected.push(r);
    else {
      valid.push(r);
      // What storing its warnings needs (row number, key, issues): a row's cells and values stay here.
      if (r.issues.length > 0) warned.push({ prov: r.prov, cells: [], values: {}, issues: r.issues, key: r.key });
      if (linkColumn >= 0) {
        const id = parseRejectionId(r.cells[linkColumn]);
        if (id !== undefined) links.push([r.prov.rowNumber, id]);
      }
    }
  }
  const prints = keyPrints(valid);
  if (!encode) return { valid, staged: null, validCount: valid.length, warned, rejected, links, stageMs, prints };
  const t0 = performance.now();
  const staged = encodeStaging(encode.catalog, encode, valid);
  stageMs.encode = (stageMs.encode ?? 0) + (performance.now() - t0);
  return { valid: null, staged, validCount: valid.length, warned, rejected, links, stageMs, prints };
}

/** The row stages in this thread: right for county files of a few thousand rows. */
export const inlineChunkRunner: ChunkRunnerFactory = (ctx) => {
  const pipeline = makePipeline(ctx);
  const linkColumn = rejectionIdColumn(ctx.headers);
  return {
    run: async (records, prov) => {
      const r = pipeline(toRows(records, prov));
      return splitChunk(r.rows, r.stageMs, undefined, linkColumn);
    },
    close: async () => {},
  };
};

/**
 * The row stages in worker threads (large files): each task carries one chunk's records; the pool is
 * shared by the batches of a process.
 */
export function threadChunkRunner(pool: ThreadPool<ChunkTask, ChunkOutput>, threads: number): ChunkRunnerFactory {
  const factory: ChunkRunnerFactory = (ctx) => {
    const spec: StageSpec = {
      batchKey: `${ctx.catalog.id}|${ctx.county}|${Math.random().toString(36).slice(2)}`,
      catalogId: ctx.catalog.id,
      county: ctx.county,
      today: ctx.today,
      headers: ctx.headers,
      columns: ctx.columns,
      defaults: ctx.defaults,
    };
    return {
      run: (records, prov, sink) =>
        pool.run({ spec, prov, records, ...(sink ? { sink } : {}) }, sink ? [sink] : undefined),
      runBytes: (csv, prov, sink) =>
        pool.run(
          { spec, prov, csv, ...(sink ? { sink } : {}) },
          sink ? [csv.bytes.buffer as ArrayBuffer, sink] : [csv.bytes.buffer as ArrayBuffer],
        ),
      parallelism: threads + 1,
      close: async () => {},
    };
  };
  factory.takesBytes = true;
  return factory;
}
