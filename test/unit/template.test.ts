import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../connectors/open-source.js';
import { INSTRUCTIONS_SHEET, LISTS_SHEET, TEMPLATE_ROWS, writeTemplate } from '../../connectors/xlsx/write-template.js';
import { loadCatalogs } from '../../src/catalog/load.js';
import type { Catalog } from '../../src/catalog/types.js';

const catalogs = loadCatalogs();
const dir = mkdtempSync(join(tmpdir(), 'guiji-template-'));
const books = new Map<string, ExcelJS.Workbook>();
const pathOf = (c: Catalog): string => join(dir, `${c.id}.xlsx`);

beforeAll(async () => {
  for (const c of catalogs.list) {
    await writeTemplate(c, pathOf(c), { county: '230184', defaults: { source_unit: '五常市交通运输局' } });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(pathOf(c));
    books.set(c.id, wb);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function book(id: string): ExcelJS.Workbook {
  const wb = books.get(id);
  if (!wb) throw new Error(`no workbook for ${id}`);
  return wb;
}
function sheetOf(wb: ExcelJS.Workbook, name: string): ExcelJS.Worksheet {
  const ws = wb.getWorksheet(name);
  if (!ws) throw new Error(`no sheet ${name}`);
  return ws;
}
function headerTexts(ws: ExcelJS.Worksheet): string[] {
  const out: string[] = [];
  ws.getRow(1).eachCell({ includeEmpty: false }, (cell, col) => {
    out[col - 1] = String(cell.value);
  });
  return out;
}
function noteText(cell: ExcelJS.Cell): string {
  const note = cell.note as unknown;
  if (typeof note === 'string') return note;
  const texts = (note as { texts?: Array<{ text: string }> } | undefined)?.texts ?? [];
  return texts.map((t) => t.text).join('');
}
/** Values of a list validation whose formula points at a range of the lists sheet. */
function listValues(wb: ExcelJS.Workbook, formula: string): string[] {
  const m = /^'?(.+?)'?!\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)$/.exec(formula);
  if (!m) throw new Error(`unexpected list formula ${formula}`);
  const ws = sheetOf(wb, m[1] as string);
  const out: string[] = [];
  for (let r = Number(m[3]); r <= Number(m[5]); r++) out.push(String(ws.getCell(`${m[2]}${r}`).value));
  return out;
}

describe('writeTemplate: 行政处罚 by hand', () => {
  it('has the header a county expects, in the standard order', () => {
    const ws = sheetOf(book('admin-penalty'), '行政处罚');
    const h = headerTexts(ws);
    expect(h).toHaveLength(30);
    expect(h[0]).toBe('*行政相对人名称');
    expect(h[1]).toBe('*行政相对人类别');
    expect(h[2]).toBe('行政相对人代码_1(统一社会信用代码)');
    expect(h[13]).toBe('*行政处罚决定书文号');
    expect(h[17]).toBe('*处罚类别');
    expect(h[19]).toBe('罚款金额（万元）');
    expect(h[22]).toBe('*处罚决定日期');
    expect(h[29]).toBe('备注');
    expect(noteText(ws.getCell('A1'))).toContain('CF_XDR_MC');
    expect(noteText(ws.getCell('N1'))).toContain('CF_WSH');
    expect(noteText(ws.getCell('AB1'))).toContain('五常市交通运输局');
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(ws.getCell('A1').font?.bold).toBe(true);
  });

  it('keeps IDs as text, dates as yyyy/mm/dd, money with 6 decimals', () => {
    const ws = sheetOf(book('admin-penalty'), '行政处罚');
    for (const col of ['C', 'E', 'K', 'M', 'N', 'AA', 'AC']) {
      expect(ws.getCell(`${col}2`).numFmt, col).toBe('@');
      expect(ws.getCell(`${col}${TEMPLATE_ROWS + 1}`).numFmt, col).toBe('@');
    }
    for (const col of ['W', 'X', 'Y']) expect(ws.getCell(`${col}2`).numFmt).toBe('yyyy/mm/dd');
    expect(ws.getCell('T2').numFmt).toBe('0.000000');
  });

  it('offers drop-downs of the canonical values', () => {
    const wb = book('admin-penalty');
    const ws = sheetOf(wb, '行政处罚');
    const category = ws.getCell('B2').dataValidation;
    expect(category.type).toBe('list');
    expect(listValues(wb, String(category.formulae[0]))).toEqual(['法人及非法人组织', '自然人', '个体工商户']);
    expect(ws.getCell(`B${TEMPLATE_ROWS + 1}`).dataValidation?.type).toBe('list');
    const types = ws.getCell('R2').dataValidation;
    expect(types.errorStyle).toBe('warning'); // several values joined by ; must stay possible
    const typeValues = listValues(wb, String(types.formulae[0]));
    expect(typeValues).toContain('罚款');
    expect(typeValues).toContain('吊销许可证件');
    expect(ws.getCell('A2').dataValidation).toBeUndefined();
  });

  it('explains every item on 填写说明', () => {
    const ws = sheetOf(book('admin-penalty'), INSTRUCTIONS_SHEET);
    expect(ws.getRow(1).values).toEqual([undefined, '序号', '数据项', '标准字段', '是否必填', '格式要求', '可选值']);
    const fine = ws.getRow(21);
    expect(fine.getCell(2).value).toBe('罚款金额（万元）');
    expect(fine.getCell(3).value).toBe('CF_NR_FK');
    expect(String(fine.getCell(4).value)).toMatch(/^条件必填.*罚款/);
    expect(String(fine.getCell(5).value)).toContain('万元');
    const idNo = ws.getRow(14);
    expect(idNo.getCell(2).value).toBe('证件号码');
    expect(String(idNo.getCell(4).value)).toContain('自然人');
    expect(String(ws.getRow(24).getCell(5).value)).toContain('YYYY/MM/DD');
    expect(ws.getRow(2).getCell(4).value).toBe('必填');
    expect(ws.getRow(31).getCell(4).value).toBe('选填');
  });
});

describe.each(catalogs.list.map((c) => [c.id, c] as const))('writeTemplate: %s', (id, catalog) => {
  it('header titles follow the catalog fields, one column each', () => {
    const ws = sheetOf(book(id), catalog.title);
    const h = headerTexts(ws);
    expect(h).toHaveLength(catalog.fields.length);
    h.forEach((text, i) => {
      const field = catalog.fields[i];
      if (!field) throw new Error(`extra header ${text}`);
      expect(text.startsWith('*')).toBe(field.required);
      expect(text.replace(/^\*/, '').replace(/（万元）$/, '')).toBe(field.title.replace(/（万元）$/, ''));
      expect(noteText(ws.getCell(1, i + 1))).toContain(field.column);
    });
  });

  it('code columns are text, enum columns have the code table as drop-down', () => {
    const wb = book(id);
    const ws = sheetOf(wb, catalog.title);
    catalog.fields.forEach((field, i) => {
      const cell = ws.getCell(2, i + 1);
      if (field.clean === 'code') expect(cell.numFmt, field.name).toBe('@');
      if (field.clean === 'date') expect(cell.numFmt, field.name).toBe('yyyy/mm/dd');
      if (field.clean === 'enum' || field.clean === 'enum-list') {
        const table = catalog.codeTables.get(field.codeTable ?? '');
        if (!table) throw new Error(`no code table for ${field.name}`);
        expect(cell.dataValidation?.type, field.name).toBe('list');
        expect(listValues(wb, String(cell.dataValidation.formulae[0]))).toEqual(Object.keys(table.values));
      }
    });
  });

  it('填写说明 has one row per field, in order', () => {
    const ws = sheetOf(book(id), INSTRUCTIONS_SHEET);
    const items: string[] = [];
    ws.eachRow((row) => {
      if (typeof row.getCell(1).value === 'number') items.push(String(row.getCell(3).value));
    });
    expect(items).toEqual(catalog.fields.map((f) => f.column));
    const notes: string[] = [];
    ws.eachRow((row) => notes.push(String(row.getCell(2).value ?? '')));
    expect(notes.some((n) => n.includes('.xlsx'))).toBe(true);
    expect(notes.some((n) => n.includes('合并单元格'))).toBe(true);
  });

  it('the lists sheet is hidden and its titles do not look like a header', () => {
    const ws = sheetOf(book(id), LISTS_SHEET);
    expect(ws.state).toBe('hidden');
    const titles = catalog.fields.map((f) => f.title);
    ws.getRow(1).eachCell((cell) => expect(titles).not.toContain(String(cell.value)));
  });
});

describe('template round trip through the reader', () => {
  it.each(catalogs.list.map((c) => [c.id, c] as const))(
    '%s: a filled-in template is read back by the reader with every column bound',
    async (id, catalog) => {
      // A clerk fills two rows; an 18-digit code typed into a text-formatted cell stays a string.
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.readFile(pathOf(catalog));
      const ws = sheetOf(wb, catalog.title);
      const idCol = catalog.fields.findIndex((f) => f.name === 'subject_id_no') + 1;
      ws.getCell(2, 1).value = '张三';
      ws.getCell(2, idCol).value = '11010519491231002X';
      ws.getCell(3, 1).value = '李四';
      ws.getCell(3, idCol).value = '230184198408279239';
      const filled = join(dir, `${id}-filled.xlsx`);
      await wb.xlsx.writeFile(filled);

      const matched: Array<{ sheet?: string; headerRow: number; fields: string[]; rows: unknown[][] }> = [];
      for await (const ev of openSource(filled, catalogs.list)) {
        if (ev.kind !== 'sheet') continue;
        const rows: unknown[][] = [];
        for await (const chunk of ev.sheet.records) for (const rec of chunk) rows.push([rec.rowNumber, ...rec.cells]);
        matched.push({
          sheet: ev.sheet.sheet,
          headerRow: ev.sheet.headerRow,
          fields: ev.sheet.columns.map((c) => c.field),
          rows,
        });
      }
      expect(matched).toHaveLength(1);
      const [m] = matched;
      expect(m?.sheet).toBe(catalog.title);
      expect(m?.headerRow).toBe(1);
      expect(m?.fields).toEqual(catalog.fields.map((f) => f.name));
      // Only the filled rows: the formatted-but-empty rows down to 2001 are not records.
      expect(m?.rows.map((r) => [r[0], r[1], r[idCol]])).toEqual([
        [2, '张三', '11010519491231002X'],
        [3, '李四', '230184198408279239'],
      ]);
    },
  );
});
