/**
 * Worker-thread task: runs the row stages over one chunk. Each thread loads the catalogs and reference
 * data once and plans the stages once per batch (the spec), so a task carries only its records.
 */
import { isWorkerThread, move, transferableSymbol, valueSymbol } from 'piscina';
import { csvChunkSlices } from '../connectors/csv/read-csv.js';
import { loadCatalogs } from '../src/catalog/load.js';
import { releaseBuffer } from '../src/executors/buffer-pool.js';
import type { StageContext } from '../src/pipeline.js';
import { loadReference } from '../src/reference.js';
import type { CsvBytesChunk, RawRecord } from '../src/source.js';
import { makeSpool } from '../src/spool.js';
import type { ColumnBinding, CountyDefaults, Row } from '../src/types.js';
import { copyBytesForCsv, RECORDS_COPY_BYTES, Utf8Sink } from '../src/warehouse/copy-text.js';
import { type ChunkOutput, splitChunk, toRows } from './chunk-runner.js';
import { rejectionIdColumn } from './rejection-id.js';
import { makePipeline, type PipelineResult } from './stages.js';

/** The serialisable part of a StageContext: what a thread needs to rebuild it. */
export interface StageSpec {
  batchKey: string;
  catalogId: string;
  county: string;
  today: string;
  headers: string[];
  columns: ColumnBinding[];
  defaults: CountyDefaults;
}

export interface ChunkTask {
  spec: StageSpec;
  prov: { batchId: string; file: string; sheet?: string };
  /** The chunk's records … */
  records?: RawRecord[];
  /** … or where the thread reads them itself (a distributed chunk in the spool: nothing crosses threads) … */
  chunkFile?: { spool: string; batchId: string; chunkNo: number };
  /** … or CSV bytes the thread decodes, splits and numbers itself (the reader only cut them at record ends). */
  csv?: CsvBytesChunk;
  /** A used buffer for the COPY output (BufferPool); the CSV bytes' buffer comes back as `spent`. */
  sink?: ArrayBuffer;
}

let catalogs: ReturnType<typeof loadCatalogs> | undefined;
let reference: ReturnType<typeof loadReference> | undefined;
const planned = new Map<string, (rows: Row[]) => PipelineResult>();
// A pool thread loads them as it starts, while the reading thread opens the file, rather than on its first
// chunk (~0.1 s that the first chunk, and so the whole ingest, waited).
if (isWorkerThread) {
  catalogs = loadCatalogs();
  reference = loadReference();
}

function pipelineFor(spec: StageSpec): (rows: Row[]) => PipelineResult {
  let p = planned.get(spec.batchKey);
  if (!p) {
    catalogs ??= loadCatalogs();
    reference ??= loadReference();
    const ctx: StageContext = {
      catalog: catalogs.get(spec.catalogId),
      county: spec.county,
      today: spec.today,
      headers: spec.headers,
      columns: spec.columns,
      defaults: spec.defaults,
      reference,
    };
    p = makePipeline(ctx);
    // A thread serves one batch at a time in practice; keep the map from growing across batches.
    if (planned.size > 4) planned.clear();
    planned.set(spec.batchKey, p);
  }
  return p;
}

/**
 * Rows go through the stages a slice at a time: only a slice's rows are alive when the young generation
 * fills up, so scavenges copy little and promote little (whole 2,000-row chunks alive at once made
 * garbage collection a large part of a thread's time).
 */
const SLICE_ROWS = 250;

/**
 * The task's chunk through the stages. The COPY bytes go back to the calling thread as a transfer (no copy).
 */
export default async function runChunk(task: ChunkTask): Promise<ChunkOutput> {
  let input: RawRecord[] | CsvBytesChunk;
  if (task.chunkFile) {
    const { spool, batchId, chunkNo } = task.chunkFile;
    input = await makeSpool(spool).readChunk(batchId, chunkNo);
  } else input = task.csv ?? task.records ?? [];
  const out = Array.isArray(input)
    ? stageChunk(task, slicesOf(input), RECORDS_COPY_BYTES, false)
    : stageChunk(task, csvChunkSlices(input), copyBytesForCsv(input.bytes.byteLength), true);
  const data = out.staged?.data;
  // In a pool thread the bytes move to the caller, and the CSV bytes go back too (for the next chunk
  // read, or to be freed there): a chunk file's bytes left here as garbage would count against this
  // thread's heap limit as external memory and set off a full collection every chunk or two (measured
  // with a worker's 5,000-row chunks: 30 mark-compacts per thread instead of 9). Called directly
  // (tests), the output is returned as is.
  if (isWorkerThread && data instanceof Uint8Array) {
    const moved = [data.buffer as ArrayBuffer];
    const spent = Array.isArray(input) ? undefined : ownBuffer(input.bytes);
    if (spent !== undefined && spent !== data.buffer) {
      out.spent = spent;
      moved.push(spent);
    }
    return move(transferring(out, moved) as never) as unknown as ChunkOutput;
  }
  if (task.csv) releaseBuffer(task.csv.bytes.buffer);
  return out;
}

/**
 * The ArrayBuffer behind `bytes` if it can be moved to another thread: not one of Node's shared slabs
 * (`Buffer.poolSize` bytes, under the small Buffers of `Buffer.allocUnsafe`, a small file's `readFile`
 * among them): moving one would empty every Buffer on it.
 */
function ownBuffer(bytes: Uint8Array): ArrayBuffer | undefined {
  const b = bytes.buffer;
  return b instanceof ArrayBuffer && b.byteLength !== Buffer.poolSize ? b : undefined;
}

/** Records a slice at a time, each slice's cells left to the collector once it is taken. */
function* slicesOf(input: RawRecord[]): Generator<RawRecord[]> {
  const records = input as Array<RawRecord | undefined>;
  for (let i = 0; i < records.length; i += SLICE_ROWS) {
    const slice = records.slice(i, i + SLICE_ROWS) as RawRecord[];
    records.fill(undefined, i, i + SLICE_ROWS); // the slice's cells are garbage once it is encoded
    yield slice;
  }
}

/** `out` with `buffers` in the transfer list (piscina's Transferable protocol). */
function transferring(out: ChunkOutput, buffers: ArrayBuffer[]): object {
  return {
    get [transferableSymbol]() {
      return buffers;
    },
    get [valueSymbol]() {
      return out;
    },
  };
}

/**
 * `ownCells`: the records' cells are substrings of a slice's decoded text (CSV), so the rows kept until
 * the chunk is done (warned, rejected) are copied: otherwise each keeps its slice's whole text alive,
 * which outlives young collections and is promoted (measured: most of what a stage thread promoted).
 */
function stageChunk(task: ChunkTask, slices: Iterable<RawRecord[]>, copyBytes: number, ownCells: boolean): ChunkOutput {
  const { spec, prov } = task;
  const pipeline = pipelineFor(spec);
  const encode = {
    catalog: (catalogs ?? loadCatalogs()).get(spec.catalogId),
    id: prov.batchId,
    county: spec.county,
    file: prov.file,
    sheet: prov.sheet ?? null,
  };
  const sink = new Utf8Sink(copyBytes, task.sink);
  const linkColumn = rejectionIdColumn(spec.headers);
  const parts: ChunkOutput[] = [];
  for (const slice of slices) {
    const result = pipeline(toRows(slice, prov));
    const part = splitChunk(result.rows, result.stageMs, encode, linkColumn);
    if (part.staged) {
      sink.add(part.staged.data as string);
      part.staged.data = '';
    }
    if (ownCells) {
      if (part.warned.length > 0) part.warned = structuredClone(part.warned);
      if (part.rejected.length > 0) part.rejected = structuredClone(part.rejected);
    }
    parts.push(part);
  }
  return joinParts(parts, sink);
}

/** One chunk's output from its slices' (in row order); the COPY bytes from `sink`. */
function joinParts(parts: ChunkOutput[], sink: Utf8Sink): ChunkOutput {
  const stageMs: Record<string, number> = {};
  const warned: Row[] = [];
  const rejected: Row[] = [];
  const links: Array<[number, number]> = [];
  const prints = new Int32Array(parts.reduce((n, p) => n + p.prints.length, 0));
  let printsAt = 0;
  let count = 0;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let validCount = 0;
  for (const p of parts) {
    for (const [k, v] of Object.entries(p.stageMs)) stageMs[k] = (stageMs[k] ?? 0) + v;
    for (const r of p.warned) warned.push(r);
    for (const r of p.rejected) rejected.push(r);
    for (const l of p.links) links.push(l);
    validCount += p.validCount;
    prints.set(p.prints, printsAt);
    printsAt += p.prints.length;
    if (p.staged && p.staged.count > 0) {
      count += p.staged.count;
      lo = Math.min(lo, p.staged.lo);
      hi = Math.max(hi, p.staged.hi);
    }
  }
  return {
    valid: null,
    staged: { data: sink.bytes(), count, lo, hi },
    validCount,
    warned,
    rejected,
    links,
    stageMs,
    prints,
  };
}
