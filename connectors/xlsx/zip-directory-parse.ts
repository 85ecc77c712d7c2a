/**
 * Feeds exceljs's streaming WorkbookReader from the zip's central directory instead of one pass over
 * the zip stream. exceljs 4.4's single pass (unzipper Parse + its iterateStream) intermittently loses
 * entries under load — seen here as xl/workbook.xml never parsed in ~0.5% of reads on a busy machine
 * ("Cannot read properties of undefined (reading 'sheets')"), upstream exceljs#3064/#2790 (worksheets
 * dropped too). A lost worksheet would be a lost sheet of a clerk's file, so we do not use that pass:
 * the workbook parts are parsed first, then each worksheet is streamed in tab order, row by row.
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import {
  type ParallelWorksheet,
  PIECE_BYTES,
  PREFETCH_PIECES,
  PrefetchedSheet,
  SheetParserPool,
  type WorkbookState,
} from './parallel-sheet.js';

type ZipStream = NodeJS.ReadableStream & { destroy?: () => void };

interface ZipFile {
  path: string;
  type: string;
  uncompressedSize?: number;
  stream(): ZipStream;
}

interface ZipDirectory {
  files: ZipFile[];
}

interface ExcelJsUnzipper {
  Open: { file(path: string): Promise<ZipDirectory> };
}

/** The parts of exceljs's WorkbookReader this drives (its own parsers, unchanged). */
interface ReaderInternals extends WorkbookState {
  model?: { sheets?: Array<{ id: number; name: string; rId: string; state?: string }> };
  workbookRels?: Array<{ Id: string; Target: string }>;
  stream?: { destroy?: () => void };
  parse: () => AsyncGenerator<unknown>;
  _parseRels(entry: unknown): Promise<void>;
  _parseWorkbook(entry: unknown): Promise<void>;
  _parseSharedStrings(entry: unknown): AsyncGenerator<unknown>;
  _parseStyles(entry: unknown): Promise<void>;
  _parseWorksheet(iterator: AsyncIterable<unknown>, sheetNo: string): Generator<unknown>;
}

// exceljs's own unzipper and stream iterator, resolved from exceljs (not our direct dependencies).
const requireFromExceljs = createRequire(createRequire(import.meta.url).resolve('exceljs'));
const unzipper = requireFromExceljs('unzipper') as ExcelJsUnzipper;
const iterateStream = requireFromExceljs('./lib/utils/iterate-stream.js') as (s: unknown) => AsyncIterable<unknown>;

const SHEET_PATH = /^xl\/worksheets\/sheet(\d+)\.xml$/;

/** Worksheets at least this large (inflated) are parsed in a thread (parallel-sheet.ts). */
export const PARALLEL_MIN_BYTES = 4 * 1024 * 1024;

/** `GUIJI_XLSX_PARALLEL_MIN_BYTES` overrides the threshold (0 = every sheet, for tests). */
function parallelMinBytes(): number {
  const env = process.env.GUIJI_XLSX_PARALLEL_MIN_BYTES;
  const n = env === undefined || env.trim() === '' ? Number.NaN : Number(env);
  return Number.isFinite(n) && n >= 0 ? n : PARALLEL_MIN_BYTES;
}

/** Tests only: `GUIJI_XLSX_PIECE_BYTES` makes small pieces, so small workbooks are cut too. */
function pieceBytes(): number {
  const n = Number(process.env.GUIJI_XLSX_PIECE_BYTES);
  return Number.isInteger(n) && n > 0 ? n : PIECE_BYTES;
}

/** Makes `reader` read `path` through the zip's central directory. */
export function readThroughDirectory(reader: unknown, path: string): void {
  const r = reader as ReaderInternals;
  r.parse = async function* parse() {
    // The reader's abandon path (`reader.stream.destroy()`) closes the entries being read and stops the
    // parser thread, whichever sheet it is on.
    let entry: ZipStream | undefined;
    let ahead: ZipStream | undefined;
    let pool: SheetParserPool | undefined;
    r.stream = {
      destroy() {
        entry?.destroy?.();
        ahead?.destroy?.();
        pool?.close();
      },
    };
    try {
      const dir = await unzipper.Open.file(path);
      const files = new Map(dir.files.filter((f) => f.type === 'File').map((f) => [f.path, f]));
      const openRaw = (p: string) => {
        entry?.destroy?.(); // a sheet left part-read by its consumer
        entry = files.get(p)?.stream();
        return entry;
      };
      const open = (p: string) => {
        const s = openRaw(p);
        return s && utf8Text(s);
      };
      const rels = open('xl/_rels/workbook.xml.rels');
      if (rels) await r._parseRels(rels);
      const workbook = open('xl/workbook.xml');
      if (workbook) await r._parseWorkbook(workbook);
      // Styles before the shared strings: the parser thread needs them (dates) to start early, below.
      const styles = open('xl/styles.xml');
      if (styles) await r._parseStyles(styles);

      const minBytes = parallelMinBytes();
      const sheetPath = (no: string) => `xl/worksheets/sheet${no}.xml`;
      const large = (no: string) => (files.get(sheetPath(no))?.uncompressedSize ?? 0) >= minBytes;
      const order = worksheetOrder(r, [...files.keys()]);
      // The first large sheet is parsed in the thread while this thread reads the shared strings.
      const first = order.find(large);
      let prefetched: PrefetchedSheet | undefined;
      if (first !== undefined) {
        ahead = files.get(sheetPath(first))?.stream();
        pool = new SheetParserPool(r);
        if (ahead) prefetched = new PrefetchedSheet(ahead, pool, pieceBytes(), PREFETCH_PIECES);
      }
      const strings = open('xl/sharedStrings.xml');
      if (strings) yield* r._parseSharedStrings(strings);

      for (const sheetNo of order) {
        if (large(sheetNo)) {
          let sheet: PrefetchedSheet | undefined;
          if (sheetNo === first) sheet = prefetched;
          else {
            const s = openRaw(sheetPath(sheetNo));
            pool ??= new SheetParserPool(r);
            if (s) sheet = new PrefetchedSheet(s, pool, pieceBytes());
          }
          if (sheet) yield { eventType: 'worksheet', value: parallelWorksheet(r, sheetNo, sheet) };
        } else {
          const s = open(sheetPath(sheetNo));
          if (s) yield* r._parseWorksheet(iterateStream(s), sheetNo);
        }
        if (sheetNo === first) ahead?.destroy?.(); // left part-read by its consumer
      }
    } finally {
      ahead?.destroy?.(); // a prefetched sheet nobody read to its end
      pool?.close();
    }
  };
}

/** The sheet as exceljs's _parseWorksheet names it, its rows parsed by the pool's thread. */
function parallelWorksheet(r: ReaderInternals, sheetNo: string, sheet: PrefetchedSheet): ParallelWorksheet {
  const ws: ParallelWorksheet = { [Symbol.asyncIterator]: () => sheet.rows(r) };
  const rel = (r.workbookRels ?? []).find((x) => x.Target === `worksheets/sheet${sheetNo}.xml`);
  const found = rel && (r.model?.sheets ?? []).find((x) => x.rId === rel.Id);
  if (found) {
    ws.id = found.id;
    ws.name = found.name;
    if (found.state !== undefined) ws.state = found.state;
  }
  return ws;
}

/**
 * The entry's text, decoded as one stream. exceljs decodes each inflated chunk (16 KB) on its own, so a
 * Chinese character cut by a chunk boundary came out as U+FFFD (about 1 % of the rows of a large valid
 * workbook, then rejected as ENCODING_DAMAGED); its parser passes text through untouched.
 */
function utf8Text(entry: NodeJS.ReadableStream): Readable {
  return Readable.from(
    (async function* () {
      const decoder = new TextDecoder('utf-8');
      for await (const chunk of entry) {
        const text = decoder.decode(chunk as Uint8Array, { stream: true });
        if (text) yield text;
      }
      const tail = decoder.decode();
      if (tail) yield tail;
    })(),
  );
}

/** Worksheet numbers in tab order (the workbook's sheet list), then any the list does not name. */
function worksheetOrder(r: ReaderInternals, paths: string[]): string[] {
  const present = paths.flatMap((p) => SHEET_PATH.exec(p)?.[1] ?? []);
  const ordered: string[] = [];
  for (const sheet of r.model?.sheets ?? []) {
    const target = r.workbookRels?.find((rel) => rel.Id === sheet.rId)?.Target ?? '';
    const no = /(?:^|\/)worksheets\/sheet(\d+)\.xml$/.exec(target)?.[1];
    if (no !== undefined && present.includes(no) && !ordered.includes(no)) ordered.push(no);
  }
  const rest = present.filter((n) => !ordered.includes(n)).sort((a, b) => Number(a) - Number(b));
  return [...ordered, ...rest];
}
