/**
 * The rejection id round trip (issue 4): a clerk gets their rejected rows back in a workbook with the
 * hidden id column, fixes cells in Excel and drops the file back. Rows carrying an id resolve their
 * rejection (or update it when still wrong) instead of creating new ones; the ledger of every batch
 * still adds up. Through the inline executor, `ingestRecords`, and the distributed flow's steps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import runChunk from '../../pipelines/chunk-worker.js';
import { inlineFlow } from '../../pipelines/distributed/run-inline.js';
import { submitFile } from '../../pipelines/distributed/submit.js';
import { type IngestDeps, ingestRecords } from '../../pipelines/ingest.js';
import { REJECTION_ID_HEADER } from '../../pipelines/rejection-id.js';
import { loadCatalogs } from '../../src/catalog/load.js';
import { makeClock } from '../../src/clock.js';
import { loadReference } from '../../src/reference.js';
import { makeSpool } from '../../src/spool.js';
import type { BatchSummary, Logger } from '../../src/types.js';
import { type BatchRecord, getBatch } from '../../src/warehouse/batches.js';
import { listRejections } from '../../src/warehouse/rejections.js';
import { FIXTURE_TODAY, FIXTURES, fixtureConfig, ingestForTest } from '../helpers/ingest.js';
import { describeEachWarehouse, openTestWarehouse, type TestWarehouse } from '../helpers/warehouses.js';

const catalogs = loadCatalogs();
const reference = loadReference();
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const MESSY = path.join(FIXTURES, 'county/penalty-messy-gbk.csv'); // 230184, admin-penalty
const OTHER_COUNTY = path.join(FIXTURES, 'county/penalty-libreoffice.xlsx'); // 230521, admin-penalty
const OTHER_CATALOG = path.join(FIXTURES, 'county/license-messy.xlsx'); // 230184, admin-license
const REAL_ID = '230184199301152881'; // row 22 of MESSY: a valid resident ID on a rejected row

type Cells = Record<string, unknown>;

function deps(t: TestWarehouse): IngestDeps {
  return {
    config: fixtureConfig(),
    warehouse: t.wh,
    catalogs,
    reference,
    clock: makeClock('Asia/Shanghai', FIXTURE_TODAY),
    logger: silent,
  };
}

function sum(b: Pick<BatchRecord, 'inserted' | 'updated' | 'unchanged' | 'duplicate' | 'rejected'>): number {
  return b.inserted + b.updated + b.unchanged + b.duplicate + b.rejected;
}

/** An annotated workbook as a clerk returns it: the batch's headers, the hidden id column last. */
async function workbook(
  dir: string,
  name: string,
  headers: string[],
  rows: Array<{ id: number | string | null; cells: Cells }>,
): Promise<string> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('退回数据');
  ws.addRow([...headers, REJECTION_ID_HEADER]);
  for (const r of rows) ws.addRow([...headers.map((h) => (r.cells[h] ?? null) as ExcelJS.CellValue), r.id]);
  ws.getColumn(headers.length + 1).hidden = true;
  const file = path.join(dir, name);
  await wb.xlsx.writeFile(file);
  return file;
}

describeEachWarehouse('rejection id round trip', (kind) => {
  let t: TestWarehouse;
  let dir: string;
  let original: BatchRecord;
  let headers: string[];
  /** The batch's rejections as the workbook shows them (IDs masked), by row number. */
  const shown = new Map<number, { id: number; cells: Cells }>();

  const rejection = async (id: number) => (await t.wh.knex('rejections').where({ id }).first()) as Cells;
  const ingest = async (file: string) => {
    const r = await ingestForTest(t.wh, file);
    expect(r.error).toBeUndefined();
    expect(r.summaries).toHaveLength(1);
    return r.summaries[0] as BatchSummary;
  };
  const edited = (row: number, edits: Cells) => {
    const r = shown.get(row);
    if (!r) throw new Error(`no rejection on row ${row}`);
    return { id: r.id, cells: { ...r.cells, ...edits } };
  };

  beforeAll(async () => {
    t = await openTestWarehouse(kind, 'roundtrip');
    dir = mkdtempSync(path.join(tmpdir(), 'guiji-roundtrip-'));
    const s = await ingest(MESSY);
    original = (await getBatch(t.wh, s.batchId as string)) as BatchRecord;
    expect(original.rejected).toBe(9);
    headers = original.context?.headers as string[];
    expect(headers.length).toBeGreaterThan(20);
    for (const r of await listRejections(t.wh, { batchId: original.id })) {
      shown.set(r.rowNumber, { id: r.id, cells: r.cells });
    }
  });
  afterAll(async () => {
    await t?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a fixed row resolves its rejection, a still-wrong row updates it, a masked ID gets its value back', async () => {
    const future = shown.get(20)?.id as number;
    const mismatch = shown.get(22)?.id as number;
    const missing = shown.get(23)?.id as number;
    // The workbook shows the ID number masked; the clerk leaves it and fixes the category instead.
    expect(shown.get(22)?.cells.证件号码).toBe('2301**********2881');
    const file = await workbook(dir, '退回-修正1.xlsx', headers, [
      edited(20, { 处罚决定日期: '2024-05-01' }),
      edited(22, { 统一社会信用代码: '' }),
      edited(23, { 违法事实: '当事人驾驶重型货车违法超限运输。', 处罚决定日期: '2099-01-01' }),
    ]);
    const before = await rejection(missing);

    const s = await ingest(file);
    expect(s).toMatchObject({ total: 3, inserted: 2, rejected: 1, updated: 0, unchanged: 0, duplicate: 0 });
    const fix = (await getBatch(t.wh, s.batchId as string)) as BatchRecord;
    expect(fix.status).toBe('done');
    expect(sum(fix)).toBe(fix.total);
    // The id column is bound to no field.
    expect(fix.context?.columns.some((c) => c.header === REJECTION_ID_HEADER)).toBe(false);
    expect(fix.context?.headers).toContain(REJECTION_ID_HEADER);

    for (const id of [future, mismatch]) {
      const r = await rejection(id);
      expect(r).toMatchObject({ status: 'fixed', fix_batch_id: fix.id, resolved_by: 'file:退回-修正1.xlsx' });
      expect(r.resolved_at).not.toBeNull();
      expect(Number(r.version)).toBe(1);
    }
    // Still wrong: the original rejection has the new cells and issues, stays open; no new rejection row.
    const again = await rejection(missing);
    expect(again.status).toBe('open');
    expect(Number(again.version)).toBe(Number(before.version) + 1);
    expect(again.last_batch_id).toBe(fix.id);
    expect(again.batch_id).toBe(original.id);
    // The new reasons replace the old: 违法事实 is filled now, the date is wrong instead.
    expect(again.error_codes).toContain('DATE_IN_FUTURE');
    expect(again.error_codes).not.toContain('REQUIRED_MISSING');
    expect((again.cells as Cells).处罚决定日期).toBe('2099-01-01');
    expect(Object.keys(again.cells as Cells)).not.toContain(REJECTION_ID_HEADER);
    expect(Number((await t.wh.knex('rejections').where('batch_id', fix.id).count({ n: '*' }))[0]?.n)).toBe(0);

    // The masked cell took the original value: the record holds the real ID number.
    const loaded = await t.wh.knex('admin_penalty').where({ batch_id: fix.id }).select('subject_id_no', 'source_row');
    expect(loaded.map((r) => r.subject_id_no).sort()).toContain(REAL_ID);
    expect(JSON.stringify(loaded)).not.toContain('*');

    // Links, audit, and the original batch's ledger untouched.
    const links = await t.wh.knex('rejection_links').where('batch_id', fix.id).orderBy('row_number');
    expect(links.map((l) => [l.row_number, Number(l.rejection_id)])).toEqual([
      [2, future],
      [3, mismatch],
    ]);
    const audit = await t.wh
      .knex('audit_log')
      .where('entity', 'rejection')
      .whereIn('entity_id', [future, mismatch, missing].map(String))
      .orderBy('id');
    expect(audit.map((a) => [a.action, Number(a.entity_id)])).toEqual([
      ['fix-failed', missing],
      ['fix', future],
      ['fix', mismatch],
    ]);
    expect(JSON.stringify(audit)).not.toContain(REAL_ID);
    const after = (await getBatch(t.wh, original.id)) as BatchRecord;
    expect(after).toMatchObject({ total: 29, inserted: 19, duplicate: 1, rejected: 9 });
    expect(sum(after)).toBe(after.total);
  });

  it('an unknown, closed, other-catalog or other-county id makes a normal row with a warning', async () => {
    const otherCounty = await ingest(OTHER_COUNTY);
    const otherCatalog = await ingest(OTHER_CATALOG);
    const foreign = async (batchId: string) =>
      Number((await t.wh.knex('rejections').where('batch_id', batchId).orderBy('id').first('id'))?.id);
    const fixed = Number(
      (await t.wh.knex('rejections').where({ batch_id: original.id, status: 'fixed' }).orderBy('id').first('id'))?.id,
    );
    const open29 = shown.get(29)?.id as number;
    const ids = [
      987654321,
      fixed,
      await foreign(otherCatalog.batchId as string),
      await foreign(otherCounty.batchId as string),
    ];
    const base = edited(29, { 法定代表人: '王德顺' }).cells;
    // Four distinct records (one per id), each otherwise valid.
    const rows = ids.map((id, i) => ({ id, cells: { ...base, 处罚决定书文号: `五交罚〔2024〕第09${i}号` } }));
    const s = await ingest(await workbook(dir, '退回-未知编号.xlsx', headers, rows));
    expect(s).toMatchObject({ total: 4, inserted: 4, rejected: 0, warnings: 4 });
    const warnings = await t.wh.knex('row_warnings').where('batch_id', s.batchId).orderBy('row_number');
    expect(
      warnings.map((w) => (w.issues as Array<{ code: string; value: number }>).map((i) => [i.code, i.value])),
    ).toEqual(ids.map((id) => [['REJECTION_ID_UNKNOWN', id]]));
    expect(await t.wh.knex('rejection_links').where('batch_id', s.batchId)).toEqual([]);
    expect((await rejection(open29)).status).toBe('open'); // nothing carried its id
    for (const id of ids.slice(2)) expect((await rejection(id)).status).toBe('open');
  });

  it('ingestRecords (a fix from the page) takes the same path, the id column included', async () => {
    const r29 = shown.get(29) as { id: number; cells: Cells };
    const cells: Cells = { ...r29.cells, 法定代表人: '王德顺' };
    const s = await ingestRecords(
      deps(t),
      {
        file: `复核修正：${original.file}`,
        catalog: catalogs.get('admin-penalty'),
        headers: [...headers, REJECTION_ID_HEADER],
        records: [{ rowNumber: 29, cells: [...headers.map((h) => (cells[h] ?? null) as string | null), r29.id] }],
      },
      { kind: 'fix', createdBy: 'steward1' },
    );
    expect(s).toMatchObject({ total: 1, inserted: 1, rejected: 0, warnings: 0 });
    const b = (await getBatch(t.wh, s.batchId as string)) as BatchRecord;
    expect(b).toMatchObject({ kind: 'fix', createdBy: 'steward1', status: 'done' });
    expect(b.context?.headers).toEqual([...headers, REJECTION_ID_HEADER]);
    expect(await rejection(r29.id)).toMatchObject({ status: 'fixed', fix_batch_id: b.id, resolved_by: 'steward1' });
  });

  it('a worker thread carries the links of valid rows it encoded', async () => {
    const spec = {
      batchKey: `links-${kind}`,
      catalogId: 'admin-penalty',
      county: '230184',
      today: '2026-11-27',
      headers: [...headers, REJECTION_ID_HEADER],
      columns: original.context?.columns ?? [],
      defaults: {},
    };
    const good = edited(20, { 处罚决定日期: '2024-05-01' }).cells;
    const bad = edited(23, {}).cells;
    const row = (c: Cells, id: number) => [...headers.map((h) => (c[h] ?? null) as string | null), id];
    const out = await runChunk(
      structuredClone({
        spec,
        prov: { batchId: 'b-links', file: 'f.xlsx' },
        records: [
          { rowNumber: 2, cells: row(good, 41) },
          { rowNumber: 3, cells: row(bad, 42) },
        ],
      }),
    );
    expect(out.valid).toBeNull();
    expect(out.staged?.count).toBe(1);
    expect(out.links).toEqual([[2, 41]]);
    expect(out.rejected.map((r) => r.prov.rowNumber)).toEqual([3]);
  });
});

describeEachWarehouse('rejection id round trip, distributed flow', (kind) => {
  let t: TestWarehouse;
  let dir: string;
  beforeAll(async () => {
    t = await openTestWarehouse(kind, 'roundtrip-dist');
    dir = mkdtempSync(path.join(tmpdir(), 'guiji-roundtrip-'));
  });
  afterAll(async () => {
    await t?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The steps BullMQ workers take (collect → chunks → finalize), run here from an in-memory queue. */
  async function distributed(file: string): Promise<BatchRecord> {
    const base = { ...deps(t), spool: makeSpool(path.join(dir, 'spool')), worker: 'test' };
    const config = { ...base.config, distributed: { ...base.config.distributed, chunkRows: 2 } };
    const flow = inlineFlow({ ...base, config });
    const { requestId } = await submitFile(flow.deps, file);
    await flow.drain();
    const batches = await t.wh.knex('batches').where('request_id', requestId).select('id');
    expect(batches).toHaveLength(1);
    return (await getBatch(t.wh, batches[0]?.id)) as BatchRecord;
  }

  it('resolves, updates and warns exactly as the inline executor does', async () => {
    const original = await distributed(MESSY);
    expect(original).toMatchObject({ status: 'done', total: 29, inserted: 19, duplicate: 1, rejected: 9 });
    const headers = original.context?.headers as string[];
    const shown = new Map((await listRejections(t.wh, { batchId: original.id })).map((r) => [r.rowNumber, r]));
    const row = (n: number, edits: Cells) => ({
      id: shown.get(n)?.id as number,
      cells: { ...shown.get(n)?.cells, ...edits },
    });
    const file = await workbook(dir, '退回-分布式.xlsx', headers, [
      row(20, { 处罚决定日期: '2024-05-01' }),
      row(22, { 统一社会信用代码: '' }),
      row(23, { 处罚决定日期: '2099-01-01' }),
      { id: 987654321, cells: { ...row(29, { 法定代表人: '王德顺' }).cells } },
    ]);
    const fix = await distributed(file);
    expect(fix).toMatchObject({ status: 'done', total: 4, inserted: 3, rejected: 1, warnings: 1 });
    expect(sum(fix)).toBe(fix.total);
    const status = async (n: number) =>
      (await t.wh
        .knex('rejections')
        .where('id', shown.get(n)?.id as number)
        .first()) as Cells;
    expect(await status(20)).toMatchObject({ status: 'fixed', fix_batch_id: fix.id });
    expect(await status(22)).toMatchObject({ status: 'fixed', fix_batch_id: fix.id });
    expect(await status(23)).toMatchObject({ status: 'open', last_batch_id: fix.id, version: 1 });
    expect((await status(23)).error_codes).toEqual(expect.arrayContaining(['DATE_IN_FUTURE', 'REQUIRED_MISSING']));
    expect(await status(29)).toMatchObject({ status: 'open', version: 0 });
    expect(Number((await t.wh.knex('rejections').where('batch_id', fix.id).count({ n: '*' }))[0]?.n)).toBe(0);
    const ids = await t.wh.knex('admin_penalty').where('batch_id', fix.id).pluck('subject_id_no');
    expect(ids).toContain(REAL_ID);
    expect((await getBatch(t.wh, original.id))?.rejected).toBe(9);
  });
});
