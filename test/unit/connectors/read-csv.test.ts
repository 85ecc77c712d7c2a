import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeUtf8 } from '../../../connectors/csv/decode.js';
import { decodeCsvChunk, openCsv } from '../../../connectors/csv/read-csv.js';
import { openSource } from '../../../connectors/open-source.js';
import { loadCatalogs } from '../../../src/catalog/load.js';
import type { Catalog } from '../../../src/catalog/types.js';
import type { GuijiError } from '../../../src/errors.js';
import type { MatchedSheet, RawRecord, ReadOptions } from '../../../src/source.js';

const dir = mkdtempSync(join(tmpdir(), 'guiji-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let catalogs: Catalog[];
beforeAll(() => {
  catalogs = loadCatalogs().list;
});

const HEADER = [
  '行政相对人名称',
  '统一社会信用代码',
  '行政处罚决定书文号',
  '处罚类别',
  '罚款金额（万元）',
  '处罚决定日期',
  '处罚机关',
];
const ROW1 = [
  '哈尔滨市某运输有限公司',
  '91230100MA1234567X',
  '哈交罚〔2024〕1号',
  '罚款',
  '0.2',
  '2024/01/02',
  '哈尔滨市交通运输局',
];
const ROW2 = ['张三', '', '哈交罚〔2024〕2号', '警告', '', '2024-01-03', '哈尔滨市交通运输局'];

let n = 0;
function write(content: string | Buffer): string {
  const p = join(dir, `f${n++}.csv`);
  writeFileSync(p, content);
  return p;
}
const lines = (rows: string[][], delim = ',', nl = '\n') => rows.map((r) => r.join(delim)).join(nl) + nl;

/**
 * The records, read the usual way; every file these tests read is also read as byte chunks (the path of
 * large files, decoded as a thread does), cut into chunks of 64 and 200 bytes (64 KB for files of megabytes)
 * and of the default size,
 * and must give the same records.
 */
async function all(sheet: MatchedSheet, opts: ReadOptions = {}): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  for await (const chunk of sheet.records) out.push(...chunk);
  if (sheet.chunks) {
    const sizes = statSync(sheet.file).size < 100_000 ? [64, 200, undefined] : [65536, undefined];
    for (const size of sizes) expect(await fromChunks(sheet, opts, size)).toEqual(out);
  }
  return out;
}

/** The sheet opened again with chunks of `chunkBytes`, read as byte chunks (decoded as a thread does). */
async function fromChunks(
  sheet: MatchedSheet,
  opts: ReadOptions,
  chunkBytes: number | undefined,
): Promise<RawRecord[]> {
  const again = await openCsv(sheet.file, catalogs, chunkBytes === undefined ? opts : { ...opts, chunkBytes });
  const out: RawRecord[] = [];
  for await (const chunk of again.chunks ?? []) out.push(...(Array.isArray(chunk) ? chunk : decodeCsvChunk(chunk)));
  return out;
}

async function open(path: string, opts: ReadOptions = {}): Promise<{ sheet: MatchedSheet; records: RawRecord[] }> {
  const sheet = await openCsv(path, catalogs, opts);
  return { sheet, records: await all(sheet, opts) };
}

async function openError(path: string, opts: ReadOptions = {}): Promise<GuijiError> {
  try {
    await open(path, opts);
  } catch (e) {
    return e as GuijiError;
  }
  throw new Error('no error');
}

describe('encodings', () => {
  it('reads UTF-8 with a BOM', async () => {
    const { sheet, records } = await open(write(`\uFEFF${lines([HEADER, ROW1, ROW2])}`));
    expect(sheet.encoding).toBe('utf-8');
    expect(sheet.headers[0]).toBe('行政相对人名称');
    expect(sheet.catalog.id).toBe('admin-penalty');
    expect(records.map((r) => r.cells)).toEqual([ROW1, ROW2]);
  });

  it('reads UTF-8 without a BOM', async () => {
    const { sheet, records } = await open(write(lines([HEADER, ROW1])));
    expect(sheet.encoding).toBe('utf-8');
    expect(records[0]?.cells).toEqual(ROW1);
  });

  it('falls back to GB18030 for what Excel on Chinese Windows writes', async () => {
    const { sheet, records } = await open(write(iconv.encode(lines([HEADER, ROW1, ROW2], ',', '\r\n'), 'gb18030')));
    expect(sheet.encoding).toBe('gb18030');
    expect(records.map((r) => r.cells)).toEqual([ROW1, ROW2]);
  });

  it('reads a GB18030 file larger than one read, characters cut at chunk edges included', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => [
      `龍江运输${i}号`,
      '',
      `黑交罚〔2024〕${i}号`,
      '罚款',
      '1',
      '2024/01/02',
      '黑龙江省交通运输厅',
    ]);
    const buf = iconv.encode(lines([HEADER, ...rows]), 'gb18030');
    expect(buf.length).toBeGreaterThan(2 << 20);
    const { sheet, records } = await open(write(buf));
    expect(sheet.encoding).toBe('gb18030');
    expect(records.length).toBe(rows.length);
    expect(records.every((r, i) => r.cells[0] === rows[i]?.[0] && r.rowNumber === i + 2 && !r.issues)).toBe(true);
  });

  it('detects UTF-8 when the 1 MB probe ends inside a character', async () => {
    const head = `${HEADER.join(',')}\n`;
    const row = `${'中'.repeat(20)},,文号,罚款,,2024/01/02,机关\n`; // 3-byte characters
    // shift the rows by one byte until the 1 MiB probe boundary falls inside a character
    const count = Math.ceil(((1 << 20) + 4096) / Buffer.byteLength(row));
    let bytes = Buffer.from(head + row.repeat(count));
    for (let pad = 1; ((bytes[1 << 20] ?? 0) & 0xc0) !== 0x80; pad++)
      bytes = Buffer.from(head + ' '.repeat(pad) + row.repeat(count));
    const { sheet, records } = await open(write(bytes));
    expect(sheet.encoding).toBe('utf-8');
    expect(records.every((r) => r.cells[0]?.toString().trim() === '中'.repeat(20))).toBe(true);
  });

  it('keeps a row the detected encoding cannot read, its bad bytes as U+FFFD for the clean stage', async () => {
    const ascii = Array.from({ length: 20_000 }, (_, i) => `A${i},,W${i},X,,2024/01/02,${'J'.repeat(40)}`);
    const head = Buffer.from(`${HEADER.join(',')}\n${ascii.join('\n')}\n`);
    expect(head.length).toBeGreaterThan(1 << 20);
    const gbk = iconv.encode(`${ROW1.join(',')}\n`, 'gb18030');
    const { sheet, records } = await open(write(Buffer.concat([head, gbk])));
    expect(sheet.encoding).toBe('utf-8');
    expect(records.length).toBe(20_001);
    expect(records.slice(0, -1).every((r) => !r.issues)).toBe(true);
    expect(records.at(-1)?.cells[0]).toContain('\uFFFD');
    expect(records.at(-1)?.rowNumber).toBe(20_002);
  });

  it('decodes UTF-8 slices as TextDecoder does, malformed bytes included (U+FFFD)', () => {
    const lenient = new TextDecoder('utf-8', { ignoreBOM: true });
    const inputs = [
      Buffer.from('孔华兰,自然人,230184198408279239,𠀀𪚥😀,a\tb\n'),
      Buffer.from('\uFEFF中\uFEFF文'),
      Buffer.from([0x41, 0xff, 0x42]), // not UTF-8 at all
      Buffer.from([0xc0, 0xaf]), // overlong
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate
      Buffer.from([0xe4, 0xb8]), // cut character
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
      Buffer.concat([Buffer.from('罚款'), iconv.encode('罚款', 'gb18030')]),
      Buffer.from([]),
    ];
    for (const b of inputs) expect(decodeUtf8(b, false)).toBe(lenient.decode(b));
    // At the file's start one BOM is dropped, as TextDecoder drops it; elsewhere it stays.
    const bom = Buffer.from('\uFEFF\uFEFF表头');
    expect(decodeUtf8(bom, true)).toBe(new TextDecoder('utf-8').decode(bom));
    expect(decodeUtf8(bom, true)).toBe('\uFEFF表头');
  });

  it('--encoding overrides the guess', async () => {
    const gb = write(iconv.encode(lines([HEADER, ROW1]), 'gb18030'));
    const { sheet, records } = await open(gb, { encoding: 'GBK' });
    expect(sheet.encoding).toBe('gbk');
    expect(records[0]?.cells).toEqual(ROW1);
    const wrong = await openError(gb, { encoding: 'utf-8' });
    expect(wrong.code).toBe('NO_HEADER');
    expect(wrong.zh).toContain('--encoding');
    expect((await openError(gb, { encoding: 'klingon' })).code).toBe('ENCODING_UNKNOWN');
  });

  it('reads UTF-16 text (Excel "Unicode text", tab-separated)', async () => {
    const text = lines([HEADER, ROW1], '\t', '\r\n');
    const { sheet, records } = await open(
      write(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])),
    );
    expect(sheet.encoding).toBe('utf-16le');
    expect(records[0]?.cells).toEqual(ROW1);
  });
});

describe('dialects', () => {
  it('detects semicolons, even with commas inside cells', async () => {
    const row = [...ROW1];
    row[3] = '罚款,警告';
    const { records } = await open(write(lines([HEADER, row], ';')));
    expect(records[0]?.cells).toEqual(row);
  });

  it('detects tabs', async () => {
    const { records } = await open(write(lines([HEADER, ROW1, ROW2], '\t')));
    expect(records.map((r) => r.cells)).toEqual([ROW1, ROW2]);
  });

  it('handles CRLF without leaving carriage returns in the last cell', async () => {
    const { records } = await open(write(lines([HEADER, ROW1, ROW2], ',', '\r\n')));
    expect(records[1]?.cells).toEqual(ROW2);
    expect(records[1]?.cells[6]).toBe('哈尔滨市交通运输局');
  });
});

describe('rows', () => {
  it('numbers records as a spreadsheet shows them: title rows, empty lines and multi-line cells', async () => {
    const text =
      '某县行政处罚信息\r\n' +
      '\r\n' +
      `${HEADER.join(',')}\r\n` +
      `"某公司\n（分公司）",,"文号1",罚款,0.1,2024/01/02,"机关\r\n第二行"\r\n` +
      ',,,,,,\r\n' +
      `乙,,文号2,"警告,""严重""",,2024/01/03,机关\r\n`;
    const { sheet, records } = await open(write(text));
    expect(sheet.headerRow).toBe(3);
    expect(records.map((r) => r.rowNumber)).toEqual([4, 6]);
    expect(records[0]?.cells[0]).toBe('某公司\n（分公司）');
    expect(records[0]?.cells[6]).toBe('机关\r\n第二行');
    expect(records[1]?.cells[3]).toBe('警告,"严重"');
    expect(records.every((r) => !r.issues)).toBe(true);
  });

  it('keeps multi-line cells right across read chunks', async () => {
    const rows: string[] = [];
    for (let i = 0; i < 12_000; i++)
      rows.push(`"公司${i}\n第二行\n第三行",,文号${i},罚款,${'x'.repeat(80)},2024/01/02,机关`);
    const { records } = await open(write(`${HEADER.join(',')}\n${rows.join('\n')}\n`));
    expect(records.length).toBe(12_000);
    expect(
      records.every((r, i) => r.rowNumber === i + 2 && r.cells[0] === `公司${i}\n第二行\n第三行` && !r.issues),
    ).toBe(true);
  });

  it('turns a ragged row into a record with ROW_RAGGED, never dropping it', async () => {
    const text = lines([
      HEADER,
      ROW1,
      ['某公司', '', '文号,3', '罚款', '', '2024/01/02', '机关'].join(',').split(','),
      ROW2,
    ]);
    const { records } = await open(write(text));
    expect(records.map((r) => r.rowNumber)).toEqual([2, 3, 4]);
    const bad = records[1];
    expect(bad?.cells.length).toBe(8);
    expect(bad?.issues?.[0]).toMatchObject({ code: 'ROW_RAGGED', severity: 'error' });
    expect(bad?.issues?.[0]?.zh).toContain('第3行有8列而表头有7列');
    expect(records[0]?.issues).toBeUndefined();
    expect(records[2]?.issues).toBeUndefined();
  });

  it('flags short rows as ragged but not trailing empty cells', async () => {
    const text = `${HEADER.join(',')}\n甲,,文号1,罚款\n${ROW1.join(',')},,,\n`;
    const { records } = await open(write(text));
    expect(records[0]?.issues?.[0]?.code).toBe('ROW_RAGGED');
    expect(records[1]?.issues).toBeUndefined();
  });

  it('reports an unterminated quote as CSV_MALFORMED and keeps reading the next lines', async () => {
    const text = `${HEADER.join(',')}\n${ROW1.join(',')}\n甲,"未闭合,文号9,罚款,,2024/01/02,机关\n${ROW2.join(',')}\n`;
    const { records } = await open(write(text));
    expect(records.map((r) => r.rowNumber)).toEqual([2, 3, 4]);
    expect(records[1]?.issues?.[0]?.code).toBe('CSV_MALFORMED');
    expect(records[1]?.cells[0]).toBe('甲');
    expect(records[2]?.cells).toEqual(ROW2);
  });

  it('splits a stray quote that ran over line breaks back into lines, keeping row numbers', async () => {
    const text = `${HEADER.join(',')}\n甲,,"文号"x,罚款,,2024/01/02,机关\n乙,,"文号2",警告,,2024/01/02,机关\n丙,,文号3,警告,,2024/01/02,机关\n`;
    const { records } = await open(write(text));
    expect(records.map((r) => [r.rowNumber, r.cells[0], r.issues?.[0]?.code])).toEqual([
      [2, '甲', 'CSV_MALFORMED'],
      [3, '乙', undefined],
      [4, '丙', undefined],
    ]);
    expect(records[1]?.cells[2]).toBe('文号2');
  });

  it('does not let an unterminated quote swallow megabytes of rows', async () => {
    const rows = Array.from({ length: 60_000 }, (_, i) => `乙${i},,文号${i},警告,,2024/01/02,${'机关'.repeat(30)}`);
    const text = `${HEADER.join(',')}\n甲,"未闭合,文号,罚款,,2024/01/02,机关\n${rows.join('\n')}\n`;
    expect(text.length).toBeGreaterThan(5 << 20);
    const { records } = await open(write(text));
    expect(records.length).toBe(60_001);
    expect(records[0]?.issues?.[0]?.code).toBe('CSV_MALFORMED');
    expect(records.slice(1).every((r, i) => r.rowNumber === i + 3 && r.cells[0] === `乙${i}` && !r.issues)).toBe(true);
  });

  it('byte chunks: a quote only the splitter settles, after many chunks, hands the rest to it', async () => {
    const good = Array.from({ length: 40 }, (_, i) => `甲${i},,"文号""${i}""",罚款,,2024/01/02,"机关\n二处"`);
    const rest = Array.from({ length: 5 }, (_, i) => `丙${i},,文号${i},警告,,2024/01/02,机关`);
    // A space after the closing quote: papaparse accepts it, the byte scan leaves it to the splitter.
    const text = `${HEADER.join(',')}\r\n${good.join('\r\n')}\r\n乙,,"文号x" ,警告,,2024/01/02,机关\r\n${rest.join('\r\n')}`;
    const sheet = await openCsv(write(text), catalogs, { chunkBytes: 300 });
    const kinds: string[] = [];
    for await (const c of sheet.chunks ?? []) kinds.push(Array.isArray(c) ? 'records' : 'bytes');
    // Decoded first chunk, byte chunks, then records again from the irregular row on.
    expect(kinds[0]).toBe('records');
    expect(kinds.filter((k) => k === 'bytes').length).toBeGreaterThan(3);
    expect(kinds[kinds.length - 1]).toBe('records');
    const records = await all(sheet); // also compares the byte-chunk path with the plain one
    expect(records.map((r) => r.rowNumber)).toEqual(Array.from({ length: 46 }, (_, i) => i + 2));
    expect(records[39]?.cells[6]).toBe('机关\n二处');
    expect(records[40]?.cells[2]).toBe('文号x');
    expect(records[45]?.cells[0]).toBe('丙4');
  });

  it('yields chunks of the requested size', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => [`甲${i}`, '', `文号${i}`, '罚款', '', '2024/01/02', '机关']);
    const sheet = await openCsv(write(lines([HEADER, ...rows])), catalogs, { chunkSize: 5 });
    const sizes: number[] = [];
    for await (const chunk of sheet.records) sizes.push(chunk.length);
    expect(sizes).toEqual([5, 5, 2]);
  });
});

describe('header overrides and refusals', () => {
  it('--header-row takes the named record', async () => {
    const text = lines([['说明'], ['行政相对人名称', '处罚机关', '备注'], HEADER, ROW1]);
    const { sheet, records } = await open(write(text), { headerRow: 3 });
    expect(sheet.headerRow).toBe(3);
    expect(records.map((r) => r.rowNumber)).toEqual([4]);
  });

  it('a CSV without a recognisable header is an input error naming what was expected', async () => {
    const e = await openError(write('姓名,年龄\n张三,30\n'));
    expect(e.code).toBe('NO_HEADER');
    expect(e.exitCode).toBe(2);
    expect(e.zh).toContain('行政相对人名称');
  });

  it('openSource dispatches by bytes: a CSV named .xlsx is read as CSV', async () => {
    const p = join(dir, 'really-csv.xlsx');
    writeFileSync(p, lines([HEADER, ROW1]));
    const events = [];
    for await (const ev of openSource(p, catalogs)) {
      if (ev.kind === 'sheet') events.push({ catalog: ev.sheet.catalog.id, rows: (await all(ev.sheet)).length });
    }
    expect(events).toEqual([{ catalog: 'admin-penalty', rows: 1 }]);
  });
});
