import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { inputError } from '../src/errors.js';

/** What a file really is, judged by its bytes (never by its extension). */
export type FileKind = 'xlsx' | 'csv';

export interface Sniffed {
  kind: FileKind;
  /** For text: the encoding its byte-order mark states (utf-8, utf-16le, utf-16be); otherwise undefined. */
  bom?: 'utf-8' | 'utf-16le' | 'utf-16be';
}

const PROBE_BYTES = 4096;
const OLE2 = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const ZIP = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06]);

/** How to turn any spreadsheet into .xlsx, for every FILE_NOT_XLSX message. */
export const RESAVE_AS_XLSX_ZH =
  '请在 Excel 或 WPS 中打开该文件，选择“文件 → 另存为”，保存类型选“Excel 工作簿 (*.xlsx)”，保存后重新提交新的 .xlsx 文件（或另存为“CSV UTF-8（逗号分隔）”）。';

function notXlsx(file: string, what: string, whatEn: string) {
  return inputError(
    'FILE_NOT_XLSX',
    `文件“${file}”实际上是${what}，不是 .xlsx 工作簿，无法直接读取。${RESAVE_AS_XLSX_ZH}`,
    `File ${file} is really ${whatEn}, not an .xlsx workbook; re-save it as .xlsx (File → Save As → Excel Workbook).`,
    { file },
  );
}

/** Text after an optional BOM and leading whitespace, lower-cased, for markup checks. */
function leadingText(head: Buffer, bom: Sniffed['bom']): string {
  let text: string;
  if (bom === 'utf-16le') text = head.subarray(2).toString('utf16le');
  else if (bom === 'utf-16be') text = Buffer.from(head.subarray(2)).swap16().toString('utf16le');
  else text = head.subarray(bom === 'utf-8' ? 3 : 0).toString('latin1');
  return text.trimStart().toLowerCase();
}

function bomOf(head: Buffer): Sniffed['bom'] {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return undefined;
}

/** Control bytes that never occur in a text file (NUL and friends; tab, CR, LF, FF, ESC allowed). */
function looksBinary(head: Buffer): boolean {
  let bad = 0;
  for (const b of head) {
    if (b === 0) return true;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) bad++;
  }
  return bad > head.length / 100;
}

/**
 * Reads the first bytes of `path` and says how to read it: an .xlsx (zip) or text (CSV).
 * Throws an input error (exit code 2) for an empty file, a legacy .xls/WPS .et (OLE2), HTML or
 * XML Spreadsheet 2003 posing as Excel (FILE_NOT_XLSX, telling the clerk how to re-save), and
 * any other binary (FILE_UNREADABLE).
 */
export async function sniffFile(path: string, displayName?: string): Promise<Sniffed> {
  const file = displayName ?? basename(path);
  let head: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(PROBE_BYTES);
      const { bytesRead } = await fh.read(buf, 0, PROBE_BYTES, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw inputError(
      'FILE_UNREADABLE',
      `无法打开文件“${file}”：${(e as Error).message}。请确认文件存在且没有被其他程序占用。`,
      `Cannot open ${file}: ${(e as Error).message}`,
      { file },
    );
  }
  if (head.length === 0) {
    throw inputError('FILE_EMPTY', `文件“${file}”是空文件（0 字节），请重新导出后再提交。`, `File ${file} is empty`, {
      file,
    });
  }
  if (head.subarray(0, 4).equals(ZIP)) return { kind: 'xlsx' };
  if (head.subarray(0, 4).equals(EMPTY_ZIP)) {
    throw inputError(
      'FILE_UNREADABLE',
      `文件“${file}”是一个空的压缩包，不是有效的 .xlsx 工作簿。${RESAVE_AS_XLSX_ZH}`,
      `File ${file} is an empty zip archive`,
      { file },
    );
  }
  if (head.subarray(0, 8).equals(OLE2)) {
    throw notXlsx(
      file,
      '旧版 Excel 97-2003 工作簿（.xls）或 WPS 表格（.et）',
      'a legacy .xls (BIFF) or WPS .et workbook',
    );
  }
  const bom = bomOf(head);
  const text = leadingText(head, bom);
  if (text.startsWith('<?xml')) {
    if (text.includes('progid="excel.sheet"') || text.includes('urn:schemas-microsoft-com:office:spreadsheet')) {
      throw notXlsx(file, '“XML 电子表格 2003”格式的文件', 'an XML Spreadsheet 2003 file');
    }
    if (text.includes('<html')) throw notXlsx(file, '网页（HTML）文件', 'an HTML page');
    throw inputError(
      'FILE_UNREADABLE',
      `文件“${file}”是 XML 文件，不是表格。请提交 .xlsx 工作簿或 CSV 文件。`,
      `File ${file} is XML, not a spreadsheet`,
      { file },
    );
  }
  if (/^<(?:!doctype\s+html|html|table|head|body|meta|style)\b/u.test(text) || /^<!--[\s\S]*?<html/u.test(text)) {
    throw notXlsx(
      file,
      '网页（HTML）文件（系统导出的“Excel”常是这种格式）',
      'an HTML page (a common fake "Excel" export)',
    );
  }
  if (bom === 'utf-16le' || bom === 'utf-16be') return { kind: 'csv', bom };
  if (looksBinary(head)) {
    throw inputError(
      'FILE_UNREADABLE',
      `文件“${file}”既不是 .xlsx 工作簿也不是 CSV 文本文件，无法读取。请提交 .xlsx（Excel 工作簿）或 CSV 文件。`,
      `File ${file} is neither an .xlsx workbook nor a text/CSV file`,
      { file },
    );
  }
  return bom ? { kind: 'csv', bom } : { kind: 'csv' };
}
