import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { liveParserThreads } from '../../../connectors/xlsx/parallel-sheet.js';
import { openWorkbookReader, readXlsx, toCellValue } from '../../../connectors/xlsx/read-xlsx.js';
import { loadCatalogs } from '../../../src/catalog/load.js';
import type { Catalog } from '../../../src/catalog/types.js';
import type { GuijiError } from '../../../src/errors.js';

const require = createRequire(import.meta.url);
const JSZip = createRequire(require.resolve('exceljs'))('jszip') as {
  loadAsync(b: Buffer): Promise<{
    file(p: string): { async(t: 'string'): Promise<string> } | null;
    file(p: string, data: string): void;
    generateAsync(o: { type: 'nodebuffer'; compression: 'DEFLATE' }): Promise<Buffer>;
  }>;
};

const ROOT = new URL('../../../', import.meta.url).pathname;
const REAL = join(ROOT, '../shared/reference/real-templates');
const dir = mkdtempSync(join(tmpdir(), 'guiji-parallel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENV = ['GUIJI_XLSX_PARALLEL_MIN_BYTES', 'GUIJI_XLSX_PIECE_BYTES'] as const;
const saved = ENV.map((k) => process.env[k]);
afterEach(() => {
  ENV.forEach((k, i) => {
    if (saved[i] === undefined) delete process.env[k];
    else process.env[k] = saved[i];
  });
});

/** Thread path for every sheet (small pieces, so even small sheets are cut), or exceljs's own. */
function usePath(parallel: boolean, pieceBytes = 512): void {
  process.env.GUIJI_XLSX_PARALLEL_MIN_BYTES = parallel ? '0' : '999999999999';
  process.env.GUIJI_XLSX_PIECE_BYTES = String(pieceBytes);
}

interface SheetDump {
  name: string | undefined;
  rows: Array<{ number: number; values: unknown[] }>;
}

/** Every row of every sheet, as read-xlsx.ts sees them (name, number, values). */
async function dump(path: string, parallel: boolean, pieceBytes?: number): Promise<SheetDump[]> {
  usePath(parallel, pieceBytes);
  const sheets: SheetDump[] = [];
  for await (const ws of openWorkbookReader(path)) {
    const sheet: SheetDump = { name: (ws as unknown as { name?: string }).name, rows: [] };
    for await (const row of ws as unknown as AsyncIterable<{ number: number; values: unknown[] }>)
      sheet.rows.push({ number: row.number, values: row.values });
    sheets.push(sheet);
  }
  return sheets;
}

/** What the pipeline takes from a row: toCellValue per cell, Dates by their time. */
function cells(sheets: SheetDump[]) {
  return sheets.map((s) => ({
    name: s.name,
    rows: s.rows.map((r) => ({
      number: r.number,
      cells: r.values.map((v) => {
        const c = toCellValue(v);
        return c instanceof Date ? { date: c.getTime() } : c;
      }),
    })),
  }));
}

async function expectSamePaths(path: string, pieceBytes?: number): Promise<SheetDump[]> {
  const old = await dump(path, false);
  const threaded = await dump(path, true, pieceBytes);
  expect(cells(threaded)).toStrictEqual(cells(old));
  return threaded;
}

async function waitForNoThreads(): Promise<void> {
  for (let i = 0; i < 200 && liveParserThreads() > 0; i++) await new Promise((r) => setTimeout(r, 25));
  expect(liveParserThreads()).toBe(0);
}

const HEADERS = [
  '*行政相对人名称',
  '统一社会信用代码',
  '行政处罚决定书文号（必填）',
  '处罚类别',
  '罚款金额（元）',
  '处罚决定日期',
  '处罚机关',
];
const TOWNS = ['哈尔滨', '齐齐哈尔', '牡丹江', '佳木斯', '大庆', '鸡西', '双鸭山', '伊春'];

/** A Chinese workbook of `rows` data rows (shared strings, dates, numbers, blanks), as counties send. */
async function writeLargeBook(path: string, rows: number): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: true, useStyles: true });
  const ws = wb.addWorksheet('行政处罚');
  ws.addRow(HEADERS).commit();
  for (let i = 1; i <= rows; i++) {
    const town = TOWNS[i % TOWNS.length] as string;
    const row = ws.addRow([
      `${town}市第${i}号某某商贸有限公司（个体工商户）`,
      `91230100MA${String(i).padStart(7, '0')}X`,
      `${town}交罚〔2024〕${i}号`,
      i % 3 ? '罚款' : '警告',
      i % 5 ? i * 10.5 : null,
      new Date(Date.UTC(2024, i % 12, (i % 28) + 1)),
      `${town}市交通运输局`,
    ]);
    row.getCell(6).numFmt = 'yyyy-mm-dd';
    row.commit();
  }
  ws.commit();
  const notes = wb.addWorksheet('填表说明');
  notes.addRow(['1. 带*的为必填项']).commit();
  notes.commit();
  await wb.commit();
}

let catalogs: Catalog[];
let large: string;
beforeAll(async () => {
  catalogs = [...loadCatalogs().list];
  large = join(dir, 'large.xlsx');
  await writeLargeBook(large, 20000);
}, 120_000);

describe('thread path vs exceljs WorksheetReader: same rows and values', () => {
  const fixtures = [
    ...['county', 'refuse'].flatMap((d) =>
      readdirSync(join(ROOT, 'fixtures', d))
        .filter((f) => f.endsWith('.xlsx'))
        .map((f) => join(ROOT, 'fixtures', d, f)),
    ),
    ...(existsSync(REAL) ? readdirSync(REAL).filter((f) => f.endsWith('.xlsx')) : []).map((f) => join(REAL, f)),
  ];

  it.each(fixtures)('%s', async (path) => {
    let readable = true;
    try {
      await dump(path, false);
    } catch {
      readable = false; // not an .xlsx underneath (refuse/): both paths must refuse it
    }
    if (!readable) {
      await expect(dump(path, true)).rejects.toThrow();
      return;
    }
    const sheets = await expectSamePaths(path);
    expect(sheets.some((s) => s.rows.length > 0) || path.includes('empty')).toBe(true);
  });

  it('a large Chinese workbook (many pieces, bounded window)', async () => {
    const sheets = await expectSamePaths(large, 64 * 1024);
    expect(sheets.map((s) => s.name)).toEqual(['行政处罚', '填表说明']);
    expect(sheets[0]?.rows).toHaveLength(20001);
    const cellsOf = cells(sheets);
    expect(cellsOf[0]?.rows[1]?.cells[1]).toBe('齐齐哈尔市第1号某某商贸有限公司（个体工商户）');
    expect(cellsOf[0]?.rows[1]?.cells[6]).toEqual({ date: Date.UTC(2024, 1, 2) });
  }, 120_000);

  it('the default 4 MB pieces', async () => {
    await expectSamePaths(large, 4 * 1024 * 1024);
  }, 120_000);
});

describe('edge cells', () => {
  /** Cells exceljs can write, then sheet "raw" rewritten by hand with what only other tools write. */
  async function writeEdgeBook(path: string, date1904: boolean): Promise<void> {
    const wb = new ExcelJS.Workbook();
    if (date1904) wb.properties.date1904 = true;
    const ws = wb.addWorksheet('边界');
    ws.getCell('A1').value = { richText: [{ text: '黑龙江' }, { font: { bold: true }, text: '某公司' }] };
    ws.getCell('B1').value = '共享串';
    ws.getCell('C1').value = '共享串';
    ws.getCell('D1').value = '';
    ws.getCell('A2').value = { formula: '1+1', result: 2 };
    ws.getCell('B2').value = { formula: '0*1', result: 0 };
    ws.getCell('C2').value = { formula: 'A1&""', result: '黑龙江某公司' };
    ws.getCell('D2').value = { formula: 'NA()', result: { error: '#N/A' } } as unknown as ExcelJS.CellValue;
    ws.getCell('E2').value = { formula: 'A2*2', result: 4, shareType: 'shared', ref: 'E2:E4' } as ExcelJS.CellValue;
    ws.getCell('E3').value = { sharedFormula: 'E2', result: 6 } as ExcelJS.CellValue;
    ws.getCell('E4').value = { sharedFormula: 'E2', result: 0 } as ExcelJS.CellValue;
    ws.getCell('F2').value = { formula: 'TODAY()' } as ExcelJS.CellValue;
    ws.getCell('A3').value = { error: '#DIV/0!' } as ExcelJS.CellValue;
    ws.getCell('B3').value = true;
    ws.getCell('C3').value = false;
    ws.getCell('D3').value = new Date(Date.UTC(2024, 4, 6, 12, 30));
    ws.getCell('D3').numFmt = 'yyyy/mm/dd hh:mm';
    ws.getCell('F3').value = 45293.25;
    ws.getCell('F3').numFmt = '0.00';
    ws.getCell('A7').value = '空行之后';
    ws.getCell('Z7').value = 26;
    ws.getCell('AB9').value = '稀疏';
    ws.getCell('A10').value = { text: '链接', hyperlink: 'http://example.invalid/' };
    ws.getRow(11).numFmt = 'yyyy-mm-dd';
    ws.getCell('A11').value = 45000;
    wb.addWorksheet('raw').getCell('A1').value = 'placeholder';
    await wb.xlsx.writeFile(path);

    // Inline strings, t="str", whitespace inside cells, `&amp;lt;`, a row style, s="0", a missing shared
    // string, a cell with no value, an empty <v/>, a row without r: hand-written, as other tools do.
    const zip = await JSZip.loadAsync(readFileSync(path));
    const stylesXml = await zip.file('xl/styles.xml')?.async('string');
    const sheet1 = (await zip.file('xl/worksheets/sheet1.xml')?.async('string')) ?? '';
    const dateStyle = /<c r="D3" s="(\d+)"/.exec(sheet1)?.[1];
    expect(stylesXml).toContain('<cellXfs');
    expect(dateStyle).toMatch(/^\d+$/);
    const raw = `<sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><r><t>第一段</t></r><r><t>第二段</t></r></is></c><c r="B1" t="inlineStr"><is><t xml:space="preserve"> 前后空格 </t></is></c><c r="C1" t="str"><v>a&amp;lt;b</v></c>
  <c r="D1" t="inlineStr"><is><t>x</t></is>
  </c></row>
<row r="2" s="${dateStyle}" customFormat="1"><c r="A2"><v>45000</v></c><c r="B2" s="0"><v>45001</v></c><c r="C2" s="999"><v>45002</v></c><c r="D2" t="s"><v>9999</v></c><c r="E2" s="${dateStyle}"/><c r="F2"><v></v></c></row>
<row r="4" spans="1:3"/>
<row r="5"><c r="$B$5" t="b"><v>1</v></c><c r="C5" t="e"><v>#REF!</v></c><c r="D5" t="s"><v>0</v></c><c r="E5"><f>E4+1</f></c><c r="F5" t="str"><f>""</f><v></v></c><c r="G5" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="H5" t="b"><f>TRUE()</f><v>1</v></c><c r="I5"><f t="shared" si="3"/><v>0</v></c></row>
</sheetData>`;
    const sheet2 = (await zip.file('xl/worksheets/sheet2.xml')?.async('string')) ?? '';
    zip.file('xl/worksheets/sheet2.xml', sheet2.replace(/<sheetData>[\s\S]*<\/sheetData>/, raw));
    writeFileSync(path, await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
  }

  for (const date1904 of [false, true]) {
    it(`rich text, shared/inline strings, formulas, errors, booleans, dates, sparse rows (date1904 ${date1904})`, async () => {
      const path = join(dir, `edge-${date1904}.xlsx`);
      await writeEdgeBook(path, date1904);
      const old = await dump(path, false);
      for (const piece of [64, 4096]) {
        const threaded = await dump(path, true, piece);
        // the raw values exceljs would give (objects, sparse arrays, Dates), not only the cells
        expect(threaded).toStrictEqual(old);
      }
      const [edge, raw] = cells(old);
      const row = (s: typeof edge, n: number) => s?.rows.find((r) => r.number === n)?.cells ?? [];
      expect(row(edge, 1).slice(1, 4)).toEqual(['黑龙江某公司', '共享串', '共享串']);
      expect(row(edge, 2).slice(1, 7)).toEqual([2, null, '黑龙江某公司', null, 4, null]);
      expect(row(edge, 3).slice(1, 4)).toEqual(['#DIV/0!', true, false]);
      expect(row(edge, 3)[4]).toEqual({ date: Date.UTC(2024, 4, 6, 12, 30) });
      expect(row(edge, 4)[5]).toBe(0); // a shared-formula child keeps a 0 result (exceljs quirk)
      expect(edge?.rows.map((r) => r.number)).toEqual([1, 2, 3, 4, 7, 9, 10, 11]);
      expect(row(edge, 9)).toHaveLength(29); // AB = column 28, values are 1-based
      expect(row(raw, 1).slice(1)).toEqual(['第二段', ' 前后空格 ', 'a<b', 'x\n  ']);
      expect(row(raw, 2)[1]).toHaveProperty('date');
      expect(row(raw, 2)[2]).toHaveProperty('date'); // s="0" falls back to the row's style
      expect(row(raw, 2)[3]).toHaveProperty('date'); // so does an unknown style
      expect(row(raw, 2)[6]).toBeNull(); // <v></v>: NaN
      expect(row(raw, 5).slice(2)).toEqual([true, '#REF!', '黑龙江某公司', null, null, null, 1, 0]);
      expect(raw?.rows.map((r) => r.number)).toEqual([1, 2, 4, 5]);
    });
  }
});

describe('abandon and failure', () => {
  it('a consumer that stops part-way leaves no parser thread', async () => {
    usePath(true, 16 * 1024);
    const reader = openWorkbookReader(large);
    // as read-xlsx.ts drives it: next() by hand, then its finally destroys the reader's stream
    const sheets = reader[Symbol.asyncIterator]();
    const ws = (await sheets.next()).value as unknown as AsyncIterable<unknown>;
    const rows = ws[Symbol.asyncIterator]();
    for (let i = 0; i < 50; i++) expect((await rows.next()).done).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(liveParserThreads()).toBe(1);
    (reader as unknown as { stream: { destroy(): void } }).stream.destroy();
    await waitForNoThreads();
  });

  it('readXlsx abandoned after the first batch stops its thread', async () => {
    usePath(true, 16 * 1024);
    let records = 0;
    for await (const ev of readXlsx(large, catalogs, { chunkSize: 100 })) {
      if (ev.kind !== 'sheet') continue;
      for await (const batch of ev.sheet.records) {
        records += batch.length;
        break;
      }
      break;
    }
    expect(records).toBe(100);
    await waitForNoThreads();
  });

  it('a full read leaves no thread', async () => {
    usePath(true, 16 * 1024);
    let records = 0;
    for await (const ev of readXlsx(large, catalogs))
      if (ev.kind === 'sheet') for await (const batch of ev.sheet.records) records += batch.length;
    expect(records).toBe(20000);
    await waitForNoThreads();
  }, 60_000);

  async function corrupt(name: string, edit: (xml: string) => string): Promise<string> {
    const zip = await JSZip.loadAsync(readFileSync(large));
    const xml = (await zip.file('xl/worksheets/sheet1.xml')?.async('string')) ?? '';
    const path = join(dir, name);
    zip.file('xl/worksheets/sheet1.xml', edit(xml));
    writeFileSync(path, await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
    return path;
  }

  it('corrupt worksheet XML is FILE_UNREADABLE on both paths, and no thread is left', async () => {
    const path = await corrupt('corrupt.xlsx', (xml) => xml.replace('<row r="15000"', '<row r="15000"><c r="A1"></x>'));
    for (const parallel of [false, true]) {
      usePath(parallel, 16 * 1024);
      const read = async () => {
        for await (const ev of readXlsx(path, catalogs))
          if (ev.kind === 'sheet') for await (const _ of ev.sheet.records);
      };
      const err = (await read().then(
        () => undefined,
        (e: unknown) => e,
      )) as GuijiError | undefined;
      expect(err?.code).toBe('FILE_UNREADABLE');
    }
    await waitForNoThreads();
  }, 60_000);

  it('a worksheet cut off inside <sheetData> is an error on the thread path', async () => {
    const path = await corrupt('truncated.xlsx', (xml) => xml.slice(0, xml.indexOf('<row r="12000"')));
    await expect(dump(path, true, 16 * 1024)).rejects.toThrow(/ends inside <sheetData>/);
    await waitForNoThreads();
  }, 60_000);
});
