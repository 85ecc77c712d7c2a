/**
 * The annotated workbook (issue 4): a messy county file is ingested through the real pipeline, its
 * rejections are written back as a workbook and read again with exceljs: the county's own columns in
 * order, the hidden rejection-id column, red cells with notes, no full ID number anywhere, the 说明 sheet;
 * the download route's scope; `guiji rejections --xlsx`; and a fixed workbook sent back resolves its row.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { registerRejections } from '../../cli/commands/rejections.js';
import { REJECTION_ID_HEADER } from '../../pipelines/rejection-id.js';
import { isReviewError } from '../../review/errors.js';
import {
  BAD_FILL,
  WorkbookAborted,
  type WorkbookQuery,
  type WorkbookScope,
  writeAnnotatedWorkbook,
} from '../../review/workbook.js';
import { GUIDE_SHEET } from '../../review/workbook-guide.js';
import { loadCatalogs } from '../../src/catalog/load.js';
import type { Issue } from '../../src/types.js';
import type { Warehouse } from '../../src/warehouse/open.js';
import { listRejections } from '../../src/warehouse/rejections.js';
import { FIXTURES, ingestForTest } from '../helpers/ingest.js';
import { describeEachWarehouse, openTestWarehouse, type TestWarehouse } from '../helpers/warehouses.js';
import { startTestServer, type TestServer } from '../helpers/web.js';

const LICENSE_MESSY = path.join(FIXTURES, 'county/license-messy.xlsx'); // 230184, header on row 4
const PENALTY_GBK = path.join(FIXTURES, 'county/penalty-messy-gbk.csv'); // 230184, a ragged row, ID numbers
const OTHER_COUNTY = path.join(FIXTURES, 'county/penalty-libreoffice.xlsx'); // 230521

const catalogs = loadCatalogs();
const personal = new Set(catalogs.list.flatMap((c) => c.fields.filter((f) => f.personal).map((f) => f.name)));
// A resident ID number (18 digits, the last may be X) standing alone.
const FULL_ID = /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/;

async function workbookBuffer(wh: Warehouse, query: WorkbookQuery, scope: WorkbookScope = { county: null }) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const { rows } = await writeAnnotatedWorkbook({ db: wh, catalogs }, query, scope, out);
  return { rows, buffer: Buffer.concat(chunks) };
}

async function readBook(buffer: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buffer as unknown as ArrayBuffer);
  return wb;
}

function noteText(cell: ExcelJS.Cell): string {
  const n = cell.note as string | { texts?: Array<{ text: string }> } | undefined;
  if (n === undefined) return '';
  return typeof n === 'string' ? n : (n.texts ?? []).map((t) => t.text).join('');
}

function headerRow(ws: ExcelJS.Worksheet): string[] {
  const out: string[] = [];
  ws.getRow(1).eachCell({ includeEmpty: true }, (cell, col) => {
    out[col - 1] = cell.text;
  });
  return out;
}

/** The header texts of a sheet as Excel shows them, trailing empty cells dropped. */
function xlsxHeaders(ws: ExcelJS.Worksheet, row: number): string[] {
  const out: string[] = [];
  ws.getRow(row).eachCell({ includeEmpty: true }, (cell, col) => {
    out[col - 1] = cell.text.trim();
  });
  while (out.length > 0 && !out[out.length - 1]) out.pop();
  return Array.from(out, (h) => h ?? '');
}

/** Every text a workbook shows: cell values and notes of every sheet. */
function allTexts(wb: ExcelJS.Workbook): string[] {
  const out: string[] = [];
  for (const ws of wb.worksheets) {
    ws.eachRow({ includeEmpty: false }, (row) => {
      row.eachCell({ includeEmpty: false }, (cell) => {
        const v = cell.value;
        if (v instanceof Date) return;
        out.push(typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
        const note = noteText(cell);
        if (note) out.push(note);
      });
    });
  }
  return out;
}

interface StoredRow {
  id: number;
  rowNumber: number;
  issues: Issue[];
  raw: string;
}

async function openRejections(wh: Warehouse, batchId: string): Promise<StoredRow[]> {
  const rows = await wh
    .knex('rejections')
    .where({ batch_id: batchId, status: 'open' })
    .orderBy('row_number')
    .select('id', 'row_number', 'cells', 'values', 'issues');
  // The issues as any public output shows them (ID numbers masked), the same masking the CLI uses.
  const shown = await listRejections(wh, { batchId, status: 'open', limit: 1000, personalFields: personal });
  return rows.map((r, i) => ({
    id: Number(r.id),
    rowNumber: Number(r.row_number),
    issues: (shown[i] as { issues: Issue[] }).issues,
    raw: JSON.stringify([r.cells, r.values, r.issues]),
  }));
}

/** Checks one data sheet against the batch's rejections: ids, red cells with the right notes. */
function checkAnnotations(ws: ExcelJS.Worksheet, rows: StoredRow[]): void {
  const headers = headerRow(ws);
  const idCol = headers.length;
  expect(headers[idCol - 1]).toBe(REJECTION_ID_HEADER);
  expect(ws.getColumn(idCol).hidden).toBe(true);
  const ids: string[] = [];
  for (let r = 2; r <= ws.rowCount; r++) ids.push(ws.getRow(r).getCell(idCol).text);
  expect(ids).toEqual(rows.map((x) => String(x.id)));
  expect(ws.getRow(2).getCell(idCol).numFmt).toBe('@');

  let checked = 0;
  rows.forEach((rej, i) => {
    const row = ws.getRow(i + 2);
    for (const issue of rej.issues) {
      const col = issue.header ? headers.indexOf(issue.header) + 1 : 0;
      // An issue without a column of its own is told on the row's first cell.
      const cell = row.getCell(col > 0 ? col : 1);
      expect(noteText(cell), `row ${rej.rowNumber} ${issue.code}`).toContain(issue.zh);
      if (issue.severity === 'error') {
        expect((cell.fill as ExcelJS.FillPattern | undefined)?.fgColor?.argb, `row ${rej.rowNumber}`).toBe(
          (BAD_FILL as ExcelJS.FillPattern).fgColor?.argb,
        );
      }
      checked++;
    }
  });
  expect(checked).toBeGreaterThan(0);
  // A cell nobody complained about is neither red nor annotated.
  const named = new Set(rows[0]?.issues.map((i) => i.header));
  const quiet = headers.findIndex((h, i) => i > 0 && i < idCol - 1 && !named.has(h)) + 1;
  expect(noteText(ws.getRow(2).getCell(quiet))).toBe('');
  expect((ws.getRow(2).getCell(quiet).fill as ExcelJS.FillPattern | undefined)?.pattern ?? 'none').toBe('none');
}

describeEachWarehouse('annotated workbook', (kind) => {
  let t: TestWarehouse;
  let licenseBatch: string;
  let penaltyBatch: string;
  let otherBatch: string;

  beforeAll(async () => {
    t = await openTestWarehouse(kind, 'workbook');
    const id = async (file: string) => {
      const r = await ingestForTest(t.wh, file);
      expect(r.error).toBeUndefined();
      return r.summaries[0]?.batchId as string;
    };
    licenseBatch = await id(LICENSE_MESSY);
    penaltyBatch = await id(PENALTY_GBK);
    otherBatch = await id(OTHER_COUNTY);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('gives an xlsx batch back in its own columns, bad cells red with the message, ids hidden', async () => {
    const rows = await openRejections(t.wh, licenseBatch);
    expect(rows).toHaveLength(11);
    const { rows: written, buffer } = await workbookBuffer(t.wh, { batchId: licenseBatch });
    expect(written).toBe(11);
    const wb = await readBook(buffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['许可信息', GUIDE_SHEET]);
    const ws = wb.getWorksheet('许可信息') as ExcelJS.Worksheet;

    const original = new ExcelJS.Workbook();
    await original.xlsx.readFile(LICENSE_MESSY);
    const fileHeaders = xlsxHeaders(original.getWorksheet('许可信息') as ExcelJS.Worksheet, 4);
    expect(fileHeaders.length).toBeGreaterThan(10);
    expect(headerRow(ws)).toEqual([...fileHeaders, REJECTION_ID_HEADER]);
    expect(ws.rowCount).toBe(12);
    checkAnnotations(ws, rows);

    // Code columns are text, so Excel cannot turn a retyped ID into 2.30184E+17; dates stay dates.
    const headers = headerRow(ws);
    const uscc = headers.indexOf('统一社会信用代码') + 1;
    for (let r = 2; r <= ws.rowCount; r++) expect(ws.getRow(r).getCell(uscc).numFmt).toBe('@');
    const issued = headers.indexOf('发证日期') + 1;
    const dates = rows.map((_, i) => ws.getRow(i + 2).getCell(issued).value).filter((v) => v instanceof Date);
    expect(dates.length).toBeGreaterThan(5);
  });

  it('gives a GBK CSV batch back with its header, a ragged row told on its first cell, IDs masked', async () => {
    const rows = await openRejections(t.wh, penaltyBatch);
    expect(rows).toHaveLength(9);
    // The source really holds full ID numbers, so the scan below proves the masking.
    expect(rows.some((r) => FULL_ID.test(r.raw))).toBe(true);
    const { buffer } = await workbookBuffer(t.wh, { batchId: penaltyBatch });
    const wb = await readBook(buffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['行政处罚退回', GUIDE_SHEET]);
    const ws = wb.worksheets[0] as ExcelJS.Worksheet;
    const csvHeaders = iconv.decode(readFileSync(PENALTY_GBK), 'gb18030').split(/\r?\n/)[0]?.split(',') ?? [];
    expect(csvHeaders.length).toBe(27);
    expect(headerRow(ws)).toEqual([...csvHeaders, REJECTION_ID_HEADER]);
    checkAnnotations(ws, rows);

    const ragged = rows.findIndex((r) => r.issues.some((i) => i.code === 'ROW_RAGGED'));
    expect(ragged).toBeGreaterThanOrEqual(0);
    expect(noteText(ws.getRow(ragged + 2).getCell(1))).toContain('本行多出的单元格');

    const texts = allTexts(wb);
    expect(texts.filter((s) => FULL_ID.test(s))).toEqual([]);
    expect(texts.some((s) => /\d{4}\*{10}\d{3}[\dX]/.test(s))).toBe(true);
  });

  it('writes the 说明 sheet: how to send it back, the batch, the rules with counts', async () => {
    const { buffer } = await workbookBuffer(t.wh, { batchId: licenseBatch });
    const guide = (await readBook(buffer)).getWorksheet(GUIDE_SHEET) as ExcelJS.Worksheet;
    const lines: string[][] = [];
    guide.eachRow((row) => {
      lines.push((row.values as unknown[]).slice(1).map((v) => (v === null || v === undefined ? '' : String(v))));
    });
    const text = lines.map((l) => l.join(' ')).join('\n');
    expect(text).toContain('guiji ingest');
    expect(text).toContain('上传');
    expect(text).toContain('收件箱');
    expect(text).toContain(REJECTION_ID_HEADER);
    expect(text).toMatch(/生成时间：\d{4}/);
    expect(lines.find((l) => l[0] === licenseBatch)?.slice(1, 3)).toEqual(['license-messy.xlsx', '许可信息']);
    const counts = await t.wh.knex.raw(
      `SELECT code, count(*)::int AS n FROM rejections, unnest(error_codes) AS code
        WHERE batch_id = ? AND status = 'open' GROUP BY code`,
      [licenseBatch],
    );
    const expected = (counts.rows as Array<{ code: string; n: number }>).map((r) => [r.code, String(r.n)]).sort();
    const header = lines.findIndex((l) => l[0] === '问题代码');
    const table = lines
      .slice(header + 1)
      .map((l) => [l[0], l[2]])
      .sort();
    expect(table).toEqual(expected);
    // Each rule is named in words, next to an example of its message.
    expect(lines.find((l) => l[0] === 'DATE_UNPARSEABLE')?.[1]).toBe('日期无法识别');
  });

  it('puts rows of several batches (by id) on one sheet per batch', async () => {
    const a = await openRejections(t.wh, licenseBatch);
    const b = await openRejections(t.wh, penaltyBatch);
    const ids = [b[1]?.id, a[0]?.id, a[3]?.id, b[4]?.id] as number[];
    const { rows, buffer } = await workbookBuffer(t.wh, { ids });
    expect(rows).toBe(4);
    const wb = await readBook(buffer);
    expect(wb.worksheets).toHaveLength(3);
    const sheets = wb.worksheets.slice(0, 2).map((ws) => {
      const h = headerRow(ws);
      const col = h.length;
      const got: string[] = [];
      for (let r = 2; r <= ws.rowCount; r++) got.push(ws.getRow(r).getCell(col).text);
      return { first: h[0], got };
    });
    const byFirst = new Map(sheets.map((s) => [s.first, s.got]));
    expect(byFirst.get('*行政相对人名称')).toEqual([String(a[0]?.id), String(a[3]?.id)]);
    expect(byFirst.get('行政相对人名称')).toEqual([String(b[1]?.id), String(b[4]?.id)]);
  });

  it("refuses (404) another county's batch or ids, and writes nothing", async () => {
    const other = await openRejections(t.wh, otherBatch);
    expect(other.length).toBeGreaterThan(0);
    const scope = { county: '230184' };
    for (const query of [{ batchId: otherBatch }, { ids: [other[0]?.id as number] }, { batchId: 'no-such-batch' }]) {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const err = await writeAnnotatedWorkbook({ db: t.wh, catalogs }, query, scope, out).catch((e) => e);
      expect(isReviewError(err) && err.status).toBe(404);
      expect(chunks).toHaveLength(0);
    }
    // The clerk's own county still works with the same scope; "every open rejection" means its own only.
    expect((await workbookBuffer(t.wh, { batchId: licenseBatch }, scope)).rows).toBe(11);
    const all = await workbookBuffer(t.wh, {}, scope);
    expect(all.rows).toBe(20);
    expect((await readBook(all.buffer)).worksheets.map((w) => w.name).sort()).toEqual(
      ['许可信息', '行政处罚退回', GUIDE_SHEET].sort(),
    );
  });

  it('stops (WorkbookAborted) when the reader goes away, instead of waiting for it forever', async () => {
    const out = new PassThrough();
    out.once('data', () => out.destroy());
    const err = await writeAnnotatedWorkbook(
      { db: t.wh, catalogs },
      { batchId: penaltyBatch },
      { county: null },
      out,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(WorkbookAborted);
    // The warehouse is not left waiting: the next workbook is written as usual.
    expect((await workbookBuffer(t.wh, { batchId: penaltyBatch })).rows).toBe(9);
  });

  it('a fixed workbook sent back resolves the rejection it carries', async () => {
    const rows = await openRejections(t.wh, licenseBatch);
    const target = rows.find((r) => r.issues.some((i) => i.code === 'DATE_UNPARSEABLE')) as StoredRow;
    const { buffer } = await workbookBuffer(t.wh, { ids: [target.id] });
    const wb = await readBook(buffer);
    const ws = wb.worksheets[0] as ExcelJS.Worksheet;
    const col = headerRow(ws).indexOf('有效期起') + 1;
    expect(ws.getRow(2).getCell(col).value).toBe('2024-O7-25');
    ws.getRow(2).getCell(col).value = '2024/07/25';
    const dir = mkdtempSync(path.join(tmpdir(), 'guiji-wb-'));
    try {
      const file = path.join(dir, '许可-修正.xlsx');
      await wb.xlsx.writeFile(file);
      const res = await ingestForTest(t.wh, file);
      expect(res.error).toBeUndefined();
      expect(res.summaries.map((s) => [s.sheet, s.rejected, s.inserted])).toEqual([['许可信息', 0, 1]]);
      const after = await t.wh.knex('rejections').where('id', target.id).first();
      expect(after.status).toBe('fixed');
      expect(after.fix_batch_id).toBe(res.summaries[0]?.batchId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeEachWarehouse('workbook download route', (kind) => {
  let server: TestServer;
  let batchId: string;
  let otherBatch: string;
  let rejected: number;

  beforeAll(async () => {
    server = await startTestServer(kind, { label: 'workbook_route' });
    const r = await ingestForTest(server.wh.wh, LICENSE_MESSY);
    batchId = r.summaries[0]?.batchId as string;
    rejected = r.summaries[0]?.rejected as number;
    otherBatch = (await ingestForTest(server.wh.wh, OTHER_COUNTY)).summaries[0]?.batchId as string;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('needs a session (401)', async () => {
    const res = await fetch(`${server.url}/api/batches/${batchId}/rejections.xlsx`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
    expect((await fetch(`${server.url}/api/rejections.xlsx?batch=${batchId}`)).status).toBe(401);
  });

  it('answers 404 to a clerk of another county, also when guessing ids', async () => {
    const clerk = await server.login('clerk230102');
    const res = await fetch(`${server.url}/api/batches/${batchId}/rejections.xlsx`, { headers: clerk.headers() });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('NOT_FOUND');
    const [first] = await server.wh.wh.knex('rejections').where('batch_id', batchId).pluck('id');
    const byIds = await fetch(`${server.url}/api/rejections.xlsx?ids=${first}`, { headers: clerk.headers() });
    expect(byIds.status).toBe(404);
    // The county's own clerk may not download another county's batch either.
    const own = await server.login('clerk230184');
    const other = await fetch(`${server.url}/api/batches/${otherBatch}/rejections.xlsx`, { headers: own.headers() });
    expect(other.status).toBe(404);
  });

  it("streams the county's own workbook to its clerk, with a download name", async () => {
    const clerk = await server.login('clerk230184');
    const res = await fetch(`${server.url}/api/batches/${batchId}/rejections.xlsx`, { headers: clerk.headers() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('spreadsheetml');
    const cd = res.headers.get('content-disposition') ?? '';
    expect(cd).toMatch(/^attachment; filename="rejections-[A-Za-z0-9_-]+\.xlsx"; filename\*=UTF-8''/);
    expect(decodeURIComponent(cd.split("UTF-8''")[1] ?? '')).toBe('license-messy-退回数据.xlsx');
    const wb = await readBook(Buffer.from(await res.arrayBuffer()));
    expect(wb.worksheets[0]?.rowCount).toBe(rejected + 1);

    const steward = await server.login('steward');
    const ids = await server.wh.wh.knex('rejections').where('batch_id', batchId).orderBy('row_number').pluck('id');
    const some = await fetch(`${server.url}/api/rejections.xlsx?ids=${ids.slice(0, 3).join(',')}`, {
      headers: steward.headers(),
    });
    expect(some.status).toBe(200);
    expect((await readBook(Buffer.from(await some.arrayBuffer()))).worksheets[0]?.rowCount).toBe(4);
  });
});

it('guiji rejections --xlsx writes the file, refuses to overwrite it without --force', async () => {
  const t = await openTestWarehouse('pglite', 'workbook_cli');
  const dir = mkdtempSync(path.join(tmpdir(), 'guiji-wb-cli-'));
  const env = { GUIJI_HOME: process.env.GUIJI_HOME, DATABASE_URL: process.env.DATABASE_URL };
  const exitCode = process.exitCode;
  const printed: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    printed.push(String(s));
    return true;
  });
  const errs = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    printed.push(String(s));
    return true;
  });
  try {
    const batchId = (await ingestForTest(t.wh, LICENSE_MESSY)).summaries[0]?.batchId as string;
    // The command opens the embedded warehouse itself: release it first (PGlite serves one process).
    await t.wh.close();
    process.env.GUIJI_HOME = t.home;
    delete process.env.DATABASE_URL;
    const cli = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerRejections(program);
      process.exitCode = 0;
      await program.parseAsync(['node', 'guiji', 'rejections', ...args]);
      return process.exitCode;
    };
    const file = path.join(dir, '退回.xlsx');
    expect(await cli('--batch', batchId, '--xlsx', file)).toBe(0);
    expect(printed.join('')).toContain(`已写出 11 行退回数据（1 个批次）：${file}`);
    expect((await readBook(readFileSync(file))).worksheets[0]?.rowCount).toBe(12);

    writeFileSync(file, 'keep me');
    expect(await cli('--batch', batchId, '--xlsx', file)).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    expect(printed.join('')).toContain('--force');

    expect(await cli('--batch', batchId, '--xlsx', file, '--force', '--json')).toBe(0);
    expect(statSync(file).size).toBeGreaterThan(1000);
    expect(printed.at(-1)).toContain('"rows":11');

    // An unknown batch creates no file.
    const none = path.join(dir, 'none.xlsx');
    expect(await cli('--batch', 'no-such-batch', '--xlsx', none)).toBe(2);
    expect(existsSync(none)).toBe(false);
  } finally {
    spy.mockRestore();
    errs.mockRestore();
    process.exitCode = exitCode;
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
    await t.dispose();
  }
});
