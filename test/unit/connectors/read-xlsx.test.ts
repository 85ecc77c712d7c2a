import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../../connectors/open-source.js';
import { toCellValue } from '../../../connectors/xlsx/read-xlsx.js';
import { loadCatalogs } from '../../../src/catalog/load.js';
import type { Catalog } from '../../../src/catalog/types.js';
import type { GuijiError } from '../../../src/errors.js';
import type { RawRecord, ReadOptions, SheetEvent } from '../../../src/source.js';

const dir = mkdtempSync(join(tmpdir(), 'guiji-xlsx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let catalogs: Catalog[];
let book: string;

const DECISION_DATE = new Date(Date.UTC(2024, 0, 2));

/** 填表说明 (notes), 处罚 (title + note rows above the header, mixed cell kinds), 空表 (empty), 许可 (column codes). */
async function writeBook(path: string): Promise<void> {
  const wb = new ExcelJS.Workbook();
  const notes = wb.addWorksheet('填表说明');
  notes.addRow(['1. 带*的为必填项']);
  notes.addRow(['2. 日期格式为 YYYY/MM/DD']);

  const cf = wb.addWorksheet('处罚');
  cf.getCell('A1').value = '某县交通运输局行政处罚信息公示';
  cf.mergeCells('A1:G1');
  cf.getCell('A2').value = '说明：罚款金额单位为元';
  cf.getRow(3).values = [
    '*行政相对人名称',
    '统一社会信用代码',
    '行政处罚决定书文号（必填）',
    '处罚类别',
    '罚款金额\n（元）',
    '处罚决定日期',
    '处罚机关',
  ];
  cf.getRow(4).values = [
    { richText: [{ text: '哈尔滨' }, { font: { bold: true }, text: '某运输有限公司' }] },
    '91230100MA1234567X',
    { text: '哈交罚〔2024〕1号', hyperlink: 'http://example.invalid/1' },
    '罚款',
    { formula: '1000*2', result: 2000 },
    DECISION_DATE,
    '哈尔滨市交通运输局',
  ];
  cf.getCell('F4').numFmt = 'yyyy/mm/dd';
  cf.getRow(6).values = ['张三', { error: '#N/A' }, '哈交罚〔2024〕2号', '警告', 0, '2024-01-03', '哈尔滨市交通运输局'];
  cf.getRow(25).values = ['李四', '', '哈交罚〔2024〕3号', '警告', null, 45293, '哈尔滨市交通运输局'];
  // formatted but empty trailing rows, as Excel leaves them
  for (let r = 26; r <= 30; r++)
    cf.getCell(`A${r}`).fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFFF00' } };

  wb.addWorksheet('空表');

  const xk = wb.addWorksheet('许可');
  xk.addRow(['XK_WSH', 'XK_XDR', 'XK_XDR_SHXYM', 'XK_NR', 'XK_JDRQ', 'XK_XZJG', 'DFBM']);
  for (let i = 1; i <= 3; i++)
    xk.addRow([`黑交许〔2024〕${i}号`, `公司${i}`, '', '道路运输经营许可', '2024/02/01', '某县交通运输局', '230184']);
  await wb.xlsx.writeFile(path);
}

beforeAll(async () => {
  catalogs = loadCatalogs().list;
  book = join(dir, 'county.xlsx');
  await writeBook(book);
});

interface Seen {
  event: SheetEvent;
  records: RawRecord[];
}

async function readAll(path: string, opts: ReadOptions = {}): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const event of openSource(path, catalogs, opts)) {
    const records: RawRecord[] = [];
    if (event.kind === 'sheet') for await (const chunk of event.sheet.records) records.push(...chunk);
    out.push({ event, records });
  }
  return out;
}

async function readError(path: string, opts: ReadOptions = {}): Promise<{ error: GuijiError; events: number }> {
  let events = 0;
  try {
    for await (const _ of openSource(path, catalogs, opts)) events++;
  } catch (e) {
    return { error: e as GuijiError, events };
  }
  throw new Error('no error');
}

const summary = (s: Seen) =>
  s.event.kind === 'sheet'
    ? { sheet: s.event.sheet.sheet, catalog: s.event.sheet.catalog.id }
    : { sheet: s.event.skipped.sheet, skipped: s.event.skipped.code };

describe('readXlsx through openSource', () => {
  it('yields every sheet in order: two matched, notes and empty sheets skipped with a reason', async () => {
    const seen = await readAll(book);
    expect(seen.map(summary)).toEqual([
      { sheet: '填表说明', skipped: 'NO_HEADER' },
      { sheet: '处罚', catalog: 'admin-penalty' },
      { sheet: '空表', skipped: 'SHEET_EMPTY' },
      { sheet: '许可', catalog: 'admin-license' },
    ]);
    const notes = seen[0]?.event;
    expect(notes?.kind === 'skipped' && notes.skipped.zh).toContain('填表说明');
    expect(notes?.kind === 'skipped' && notes.skipped.zh).toContain('行政相对人名称');
  });

  it('reports a notes sheet that comes after the last matched sheet', async () => {
    const path = join(dir, 'notes-last.xlsx');
    const wb = new ExcelJS.Workbook();
    const xk = wb.addWorksheet('许可');
    xk.addRow(['行政许可决定文书号', '行政相对人名称', '许可内容', '许可决定日期', '许可机关']);
    xk.addRow(['黑交许〔2024〕9号', '某公司', '道路运输经营许可', '2024/02/01', '某县交通运输局']);
    wb.addWorksheet('说明').getCell('A1').value = '本表按省平台模板填报';
    await wb.xlsx.writeFile(path);
    expect((await readAll(path)).map(summary)).toEqual([
      { sheet: '许可', catalog: 'admin-license' },
      { sheet: '说明', skipped: 'NO_HEADER' },
    ]);
  });

  it('finds the header below title and note rows and converts every kind of cell', async () => {
    const [, cf] = await readAll(book);
    if (cf?.event.kind !== 'sheet') throw new Error('处罚 not matched');
    const sheet = cf.event.sheet;
    expect(sheet.headerRow).toBe(3);
    expect(sheet.file).toBe(book);
    expect(sheet.columns.find((c) => c.field === 'fine_amount_wan_yuan')).toEqual({
      index: 4,
      header: '罚款金额\n（元）',
      field: 'fine_amount_wan_yuan',
      unit: '元',
    });
    expect(sheet.columns.map((c) => c.field)).toEqual([
      'subject_name',
      'subject_uscc',
      'decision_doc_no',
      'penalty_types',
      'fine_amount_wan_yuan',
      'decision_date',
      'penalising_authority',
    ]);
    // row 5 is empty and rows 26–30 only formatted: not records; row numbers are Excel's
    expect(cf.records.map((r) => r.rowNumber)).toEqual([4, 6, 25]);
    expect(cf.records[0]?.cells).toEqual([
      '哈尔滨某运输有限公司',
      '91230100MA1234567X',
      '哈交罚〔2024〕1号',
      '罚款',
      2000,
      DECISION_DATE,
      '哈尔滨市交通运输局',
    ]);
    expect(cf.records[0]?.cells[5]).toBeInstanceOf(Date);
    expect(cf.records[1]?.cells.slice(1, 2)).toEqual(['#N/A']);
    expect(cf.records[1]?.cells[4]).toBe(0);
    expect(cf.records[2]?.cells[5]).toBe(45293);
  });

  it('binds column-code headers (the old template) to the licence catalog', async () => {
    const seen = await readAll(book);
    const xk = seen[3];
    if (xk?.event.kind !== 'sheet') throw new Error('许可 not matched');
    expect(xk.event.sheet.headerRow).toBe(1);
    expect(xk.event.sheet.columns.map((c) => c.field)).toEqual([
      'decision_doc_no',
      'subject_name',
      'subject_uscc',
      'licence_content',
      'decision_date',
      'issuing_authority',
    ]);
    expect(xk.event.sheet.unmatched).toEqual(['DFBM']);
    expect(xk.records.map((r) => r.rowNumber)).toEqual([2, 3, 4]);
  });

  it('--sheet reads one sheet; an unknown name lists the sheets', async () => {
    expect((await readAll(book, { sheet: '许可' })).map(summary)).toEqual([
      { sheet: '许可', catalog: 'admin-license' },
    ]);
    const { error, events } = await readError(book, { sheet: '处罚2' });
    expect(error.code).toBe('SHEET_NOT_FOUND');
    expect(error.zh).toContain('“处罚”、“空表”、“许可”');
    expect(events).toBe(0);
  });

  it('--header-row names the header row', async () => {
    const [cf] = await readAll(book, { sheet: '处罚', headerRow: 3 });
    expect(cf?.event.kind === 'sheet' && cf.event.sheet.headerRow).toBe(3);
    const { error } = await readError(book, { sheet: '处罚', headerRow: 2 });
    expect(error.code).toBe('NO_HEADER');
  });

  it('--catalog restricts matching: the penalty sheet is skipped, not forced', async () => {
    const seen = await readAll(book, { catalogId: 'admin-license' });
    expect(seen.map(summary)).toEqual([
      { sheet: '填表说明', skipped: 'NO_HEADER' },
      { sheet: '处罚', skipped: 'NO_HEADER' },
      { sheet: '空表', skipped: 'SHEET_EMPTY' },
      { sheet: '许可', catalog: 'admin-license' },
    ]);
    expect((await readError(book, { catalogId: 'nope' })).error.code).toBe('UNKNOWN_CATALOG');
  });

  it('drains a sheet whose records were not read, and refuses reading them late', async () => {
    const events: SheetEvent[] = [];
    for await (const ev of openSource(book, catalogs)) events.push(ev);
    const matched = events.filter((e) => e.kind === 'sheet');
    expect(matched.length).toBe(2);
    const first = matched[0];
    if (first?.kind !== 'sheet') throw new Error('unreachable');
    await expect(async () => {
      for await (const _ of first.sheet.records) {
        // never reached
      }
    }).rejects.toMatchObject({ code: 'SHEET_CONSUMED_LATE' });
  });

  it('a workbook where no sheet has a header is an input error listing each sheet', async () => {
    const p = join(dir, 'notes-only.xlsx');
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('说明').addRow(['这是说明']);
    wb.addWorksheet('Sheet2');
    await wb.xlsx.writeFile(p);
    const { error, events } = await readError(p);
    expect(events).toBe(0);
    expect(error.code).toBe('NO_HEADER');
    expect(error.exitCode).toBe(2);
    expect(error.zh).toContain('“说明”');
    expect(error.zh).toContain('“Sheet2”是空的');
  });

  it('a damaged zip is unreadable, not a crash', async () => {
    const p = join(dir, 'broken.xlsx');
    writeFileSync(p, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(200, 7)]));
    const { error } = await readError(p);
    expect(error.code).toBe('FILE_UNREADABLE');
  });
});

describe('reading a large Chinese workbook', () => {
  it('decodes text whole across the inflated chunks: no character cut into U+FFFD', async () => {
    // Every shared string and worksheet cell has 3-byte UTF-8 characters at varying offsets, so the 16 KB
    // chunks the entries inflate in cut many of them (shared strings here: ~700 KB).
    const path = join(dir, 'chinese.xlsx');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('处罚');
    ws.addRow(['行政相对人名称', '行政处罚决定书文号', '违法行为类型', '处罚机关']);
    const want: string[][] = [];
    for (let i = 1; i <= 4000; i++) {
      const row = [
        `${'某'.repeat(i % 7)}哈尔滨运输有限公司第${i}分公司`,
        `哈交罚〔2024〕${i}号`,
        `${'超限'.repeat(1 + (i % 5))}运输违法行为${i}`,
        `${'黑龙江省'.slice(0, 1 + (i % 4))}交通运输局`,
      ];
      want.push(row);
      ws.addRow(row);
    }
    await wb.xlsx.writeFile(path);
    const [seen] = await readAll(path, { catalogId: 'admin-penalty' });
    const got = (seen as Seen).records.map((r) => r.cells.slice(0, 4));
    expect(got.filter((cells) => cells.some((c) => typeof c === 'string' && c.includes('\uFFFD')))).toEqual([]);
    expect(got).toEqual(want);
  });
});

describe('toCellValue', () => {
  it('flattens exceljs cell values', () => {
    expect(toCellValue({ richText: [{ text: 'a' }, { text: 'b' }] })).toBe('ab');
    expect(toCellValue({ formula: 'A1', result: 'x' })).toBe('x');
    expect(toCellValue({ sharedFormula: 'A1', result: 3 })).toBe(3);
    expect(toCellValue({ formula: 'A1' })).toBeNull();
    expect(toCellValue({ text: 'link', hyperlink: 'http://x' })).toBe('link');
    expect(toCellValue({ text: { richText: [{ text: 'r' }] }, hyperlink: 'http://x' })).toBe('r');
    expect(toCellValue({ error: '#REF!' })).toBe('#REF!');
    expect(toCellValue(Number.NaN)).toBeNull();
    expect(toCellValue(true)).toBe(true);
    expect(toCellValue(undefined)).toBeNull();
  });
});
