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

interface ZipFile {
  path: string;
  type: string;
  stream(): NodeJS.ReadableStream & { destroy?: () => void };
}

interface ZipDirectory {
  files: ZipFile[];
}

interface ExcelJsUnzipper {
  Open: { file(path: string): Promise<ZipDirectory> };
}

/** The parts of exceljs's WorkbookReader this drives (its own parsers, unchanged). */
interface ReaderInternals {
  model?: { sheets?: Array<{ id: number; name: string; rId: string }> };
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

/** Makes `reader` read `path` through the zip's central directory. */
export function readThroughDirectory(reader: unknown, path: string): void {
  const r = reader as ReaderInternals;
  r.parse = async function* parse() {
    const dir = await unzipper.Open.file(path);
    const files = new Map(dir.files.filter((f) => f.type === 'File').map((f) => [f.path, f]));
    const open = (p: string) => {
      const s = files.get(p)?.stream();
      if (!s) return undefined;
      r.stream = s; // the reader's abandon path destroys the entry being read
      return utf8Text(s);
    };
    const rels = open('xl/_rels/workbook.xml.rels');
    if (rels) await r._parseRels(rels);
    const workbook = open('xl/workbook.xml');
    if (workbook) await r._parseWorkbook(workbook);
    const strings = open('xl/sharedStrings.xml');
    if (strings) yield* r._parseSharedStrings(strings);
    const styles = open('xl/styles.xml');
    if (styles) await r._parseStyles(styles);

    for (const sheetNo of worksheetOrder(r, [...files.keys()])) {
      const s = open(`xl/worksheets/sheet${sheetNo}.xml`);
      if (s) yield* r._parseWorksheet(iterateStream(s), sheetNo);
    }
  };
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
