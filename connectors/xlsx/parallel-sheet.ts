/**
 * Reads a large worksheet with its XML parsed in a worker thread (sheet-parse-worker.mjs) instead of
 * exceljs's WorksheetReader, which builds Row and Cell objects for every cell on the main thread. The
 * inflated XML is cut at `</row>` into ~4 MB pieces that are transferred to the thread; it returns typed
 * arrays (shared strings as indices), and rows come out here with `values` as exceljs's `row.values`
 * would hold them (1-based, sparse), so read-xlsx.ts cannot tell the two apart.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SheetPieceCutter } from './sheet-pieces.js';

/** Parser threads per workbook read: on 2 cores one was as fast as two and used ~50 MB less. */
export const PARSER_THREADS = 1;
/** Inflated bytes per piece (1 MB and 16 MB were slower). */
export const PIECE_BYTES = 4 * 1024 * 1024;
/** Pieces sent but not yet consumed: bounds memory whatever the sheet's size. */
export const PIECES_IN_FLIGHT = 2;
/** Heap cap per parser thread (a piece needs a few tens of MB at most). */
const THREAD_HEAP = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 };

// Type codes of sheet-parse-worker.mjs.
const T_SS = 0;
const T_NUM = 1;
const T_DATE = 2;
const T_BOOL = 3;
const T_STR = 4;
const T_ERR = 5;
const T_FORMULA = 6;
const T_FORMULA_NO_V = 7;

const requireFromExceljs = createRequire(createRequire(import.meta.url).resolve('exceljs'));
const { isDateFmt } = requireFromExceljs('./lib/utils/utils.js') as { isDateFmt(fmt: unknown): boolean };

/**
 * The worker is plain JavaScript next to this module: in dist/ it is copied there by
 * scripts/after-build.mjs; under vitest this module runs from the sources, where it already is. A dist/
 * built by tsc alone falls back to the source folder.
 */
function workerUrl(): URL {
  const here = new URL('./sheet-parse-worker.mjs', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../../connectors/xlsx/sheet-parse-worker.mjs', import.meta.url);
}

/** The parts of exceljs's WorkbookReader the worksheet values depend on. */
export interface WorkbookState {
  sharedStrings?: unknown[];
  styles?: { model?: { styles?: unknown[] }; getStyleModel(id: number): { numFmt?: unknown } | null };
  properties?: { model?: { date1904?: boolean } };
}

/** What exceljs's row gives read-xlsx.ts. */
export interface SheetRow {
  number: number;
  values: unknown[];
}

interface PieceResult {
  meta: ArrayBuffer;
  metaLen: number;
  nums: ArrayBuffer;
  numsLen: number;
  extras: unknown[];
}

interface Reply extends Partial<PieceResult> {
  id: number;
  error?: string;
}

/** Per cellXfs index: 1 a date format, 0 another, -1 no such style (exceljs then uses the row's). */
function styleCodes(wb: WorkbookState): Int8Array {
  const n = wb.styles?.model?.styles?.length ?? 0;
  const codes = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const m = wb.styles?.getStyleModel(i);
    codes[i] = m ? (isDateFmt(m.numFmt) ? 1 : 0) : -1;
  }
  return codes;
}

let liveThreads = 0;
/** Parser threads started and not yet exited (tests check that none is left behind). */
export function liveParserThreads(): number {
  return liveThreads;
}

/** The parser threads of one workbook read. */
export class SheetParserPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { resolve(r: PieceResult): void; reject(e: Error): void }>();
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  constructor(wb: WorkbookState, threads = PARSER_THREADS) {
    const init = { kind: 'init', styleCode: styleCodes(wb), date1904: Boolean(wb.properties?.model?.date1904) };
    for (let i = 0; i < Math.max(1, threads); i++) {
      const w = new Worker(workerUrl(), { resourceLimits: THREAD_HEAP });
      liveThreads++;
      w.on('message', (msg: Reply) => this.onReply(msg));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        liveThreads--;
        if (!this.closed) this.fail(new Error(`worksheet parser thread stopped (exit code ${code})`));
      });
      w.postMessage(init);
      w.unref(); // an idle thread must never keep the process alive
      this.workers.push(w);
    }
  }

  /** Parses a piece; its buffer is transferred (unusable here afterwards). */
  parse(buf: Buffer, len: number): Promise<PieceResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('worksheet parser closed'));
    const id = this.nextId++;
    const w = this.workers[id % this.workers.length] as Worker;
    const result = new Promise<PieceResult>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    w.ref(); // while a piece is out, its result is awaited
    const ab = buf.buffer as ArrayBuffer; // a piece owns its buffer (Buffer.allocUnsafeSlow)
    w.postMessage({ kind: 'piece', id, buf: ab, len }, [ab]);
    return result;
  }

  /** Stops the threads (idempotent); pieces still out are rejected. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.workers) void w.terminate();
    this.rejectAll(new Error('worksheet read abandoned'));
  }

  private onReply(msg: Reply): void {
    const entry = this.waiting.get(msg.id);
    if (!entry) return;
    this.waiting.delete(msg.id);
    if (this.waiting.size === 0) for (const w of this.workers) w.unref();
    if (msg.error !== undefined) entry.reject(new Error(msg.error));
    else entry.resolve(msg as PieceResult);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.rejectAll(this.failure);
    this.close();
  }

  private rejectAll(e: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(e);
  }
}

/** A piece's rows, decoded one at a time (a piece holds thousands). */
class PieceRows {
  private readonly meta: Int32Array;
  private readonly nums: Float64Array;
  private i = 0;

  constructor(
    r: PieceResult,
    private readonly extras: unknown[],
    private readonly strings: unknown[] | undefined,
  ) {
    this.meta = new Int32Array(r.meta, 0, r.metaLen);
    this.nums = new Float64Array(r.nums, 0, r.numsLen);
  }

  next(): SheetRow | undefined {
    const { meta, nums, extras, strings } = this;
    let i = this.i;
    if (i >= meta.length) return undefined;
    const number = nums[meta[i++] as number] as number;
    const nCells = meta[i++] as number;
    const values: unknown[] = [];
    for (let k = 0; k < nCells; k++) {
      const col = meta[i++] as number;
      const type = meta[i++] as number;
      const idx = meta[i++] as number;
      const v = cellValue(type, idx, nums, extras, strings);
      // exceljs leaves a cell whose value is null/undefined (a missing shared string) out of row.values
      if (v !== undefined && v !== null) values[col] = v;
    }
    this.i = i;
    return { number, values };
  }
}

/** The value exceljs's Cell would hold (see worksheet-reader.js and Cell's value types). */
function cellValue(
  type: number,
  idx: number,
  nums: Float64Array,
  extras: unknown[],
  strings: unknown[] | undefined,
): unknown {
  switch (type) {
    case T_SS:
      // without a shared-string table exceljs keeps the index
      return strings ? strings[idx] : { sharedString: idx < 0 ? Number.NaN : idx };
    case T_NUM:
      return nums[idx];
    case T_DATE:
      return new Date(nums[idx] as number);
    case T_BOOL:
      return idx === 1;
    case T_STR:
      return extras[idx];
    case T_ERR:
      return { error: extras[idx] };
    case T_FORMULA:
    case T_FORMULA_NO_V: {
      const formula = extras[idx] as string;
      const hasResult = type === T_FORMULA;
      const result = hasResult ? extras[idx + 1] : undefined;
      // A non-empty formula makes a FormulaValue, whose value copies only truthy fields (a 0, '' or NaN
      // result is dropped); an empty one (a shared-formula child) is kept as the plain object.
      if (formula) return result ? { formula, result } : { formula };
      return hasResult ? { formula, result } : { formula };
    }
    default:
      throw new Error(`worksheet parser: unknown cell type ${type}`);
  }
}

interface Tracked {
  result: Promise<PieceResult>;
  settled: boolean;
}

function track(result: Promise<PieceResult>): Tracked {
  const t: Tracked = { result, settled: false };
  // also marks the promise handled: an abandoned read must not end in an unhandled rejection
  result.then(
    () => {
      t.settled = true;
    },
    () => {
      t.settled = true;
    },
  );
  return t;
}

/**
 * Pieces parsed ahead of the consumer. At the start of a workbook the first large sheet is prefetched
 * while the main thread still parses the shared strings (the rows need them; the XML parse does not), so
 * the parser thread is busy from the first second instead of waiting behind the strings.
 */
export const PREFETCH_PIECES = 6;

/**
 * One worksheet entry, cut into pieces and parsed by `pool` from the moment it is made: at most `window`
 * pieces are parsed or being parsed ahead of the rows read (memory stays bounded whatever the sheet's size).
 */
export class PrefetchedSheet {
  private readonly queue: Tracked[] = [];
  private ended = false;
  private failure: unknown;
  private arrived: (() => void) | undefined;
  private space: (() => void) | undefined;

  constructor(
    entry: AsyncIterable<unknown>,
    private readonly pool: SheetParserPool,
    pieceBytes = PIECE_BYTES,
    private readonly window = PIECES_IN_FLIGHT,
  ) {
    void this.pump(entry, pieceBytes);
  }

  private async pump(entry: AsyncIterable<unknown>, pieceBytes: number): Promise<void> {
    try {
      const cutter = new SheetPieceCutter(pieceBytes);
      for await (const chunk of entry) {
        const piece = cutter.push(chunk as Buffer);
        if (!piece) continue;
        this.add(this.pool.parse(piece.buf, piece.len));
        while (this.queue.length >= this.window) await new Promise<void>((r) => (this.space = r));
      }
      const last = cutter.end();
      if (last) this.add(this.pool.parse(last.buf, last.len));
    } catch (e) {
      this.failure = e; // given to the consumer after the pieces before it
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private add(result: Promise<PieceResult>): void {
    this.queue.push(track(result));
    this.wake();
  }

  private wake(): void {
    const arrived = this.arrived;
    this.arrived = undefined;
    arrived?.();
  }

  /** The sheet's rows in order; `wb.sharedStrings` is read when the first row is built. */
  async *rows(wb: WorkbookState): AsyncGenerator<SheetRow> {
    for (;;) {
      const next = this.queue.shift();
      if (!next) {
        if (this.ended) {
          if (this.failure !== undefined) throw this.failure;
          return;
        }
        await new Promise<void>((r) => (this.arrived = r));
        continue;
      }
      const space = this.space;
      this.space = undefined;
      space?.();
      const r = await next.result;
      const rows = new PieceRows(r, r.extras, wb.sharedStrings);
      for (let row = rows.next(); row; row = rows.next()) yield row;
    }
  }
}

/** Stands in for exceljs's WorksheetReader where read-xlsx.ts uses it. */
export interface ParallelWorksheet {
  id?: number;
  name?: string;
  state?: string;
  [Symbol.asyncIterator](): AsyncGenerator<SheetRow>;
}
