/**
 * Uploads through the real server (issue 4): a clerk's messy county file is checked and staged (a dry
 * run with predicted outcomes and sample rejections), then committed or cancelled. Size cap, county
 * scope, refused files and the rejection id round trip through an upload.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REJECTION_ID_HEADER } from '../../pipelines/rejection-id.js';
import { type BatchRecord, getBatch } from '../../src/warehouse/batches.js';
import { listRejections } from '../../src/warehouse/rejections.js';
import { FIXTURES } from '../helpers/ingest.js';
import { describeEachWarehouse } from '../helpers/warehouses.js';
import { type LoggedIn, startTestServer, type TestServer } from '../helpers/web.js';

const LICENSE_MESSY = path.join(FIXTURES, 'county/license-messy.xlsx'); // 230184: 21 rows, 9 + 1 dup + 11 rejected
const PENALTY_MESSY = path.join(FIXTURES, 'county/penalty-messy-gbk.csv'); // 230184: 29 rows
const BIFF = path.join(FIXTURES, 'refuse/penalty-biff.xls');
const LIMIT = 40_000;

type Json = Record<string, unknown>;

describeEachWarehouse('uploads', (kind) => {
  let srv: TestServer;
  let clerk: LoggedIn;
  let otherClerk: LoggedIn;
  let steward: LoggedIn;

  beforeAll(async () => {
    srv = await startTestServer(kind, { label: 'upload', uploadLimitBytes: LIMIT });
    clerk = await srv.login('clerk230184');
    otherClerk = await srv.login('clerk230102');
    steward = await srv.login('steward');
  });
  afterAll(async () => {
    await srv?.close();
  });

  const knex = () => srv.wh.wh.knex;
  const uploads = () => readdirSync(srv.deps.uploadDir);
  const count = async (table: string, where: Json = {}) =>
    Number((await knex()(table).where(where).count({ n: '*' }))[0]?.n);

  async function upload(as: LoggedIn, bytes: Uint8Array, name: string, fields: Record<string, string> = {}) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([bytes]), name);
    const res = await fetch(`${srv.url}/api/uploads`, { method: 'POST', headers: as.headers(), body: form });
    return { status: res.status, body: (await res.json()) as Json };
  }
  async function post(as: LoggedIn, url: string) {
    const res = await fetch(`${srv.url}${url}`, { method: 'POST', headers: as.headers() });
    return { status: res.status, body: (await res.json()) as Json };
  }
  const batch = async (id: string) => (await getBatch(srv.wh.wh, id)) as BatchRecord;

  it('a messy county file is staged with predicted outcomes; commit loads exactly that, without reading it again', async () => {
    const up = await upload(clerk, readFileSync(LICENSE_MESSY), '五常市-许可.xlsx');
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    expect(uploads()).toEqual([]); // the file is gone: a commit cannot parse it again
    const [b] = up.body.batches as Json[];
    expect(up.body.batches).toHaveLength(1);
    const predicted = { total: 21, inserted: 9, updated: 0, unchanged: 0, duplicate: 1, rejected: 11 };
    expect(b).toMatchObject({ ...predicted, status: 'staged', county: '230184', catalog: 'admin-license' });
    const id = b?.batchId as string;

    const sample = up.body.sample as Json[];
    expect(sample).toHaveLength(11);
    expect(sample.every((r) => r.batchId === id && r.status === 'open')).toBe(true);
    expect(JSON.stringify(sample)).not.toContain('230184199205168000'); // ID numbers masked
    expect(sample.map((r) => (r.issues as Json[])[0]?.code)).toContain('DATE_UNPARSEABLE');

    const staged = await batch(id);
    expect(staged).toMatchObject({ ...predicted, status: 'staged', kind: 'upload', createdBy: 'clerk230184' });
    expect(await count('admin_license')).toBe(0); // nothing merged yet
    expect(await count('admin_license_staging', { batch_id: id })).toBe(10);
    expect(await count('rejections', { batch_id: id })).toBe(11);

    const commit = await post(clerk, `/api/uploads/${id}/commit`);
    expect(commit.status, JSON.stringify(commit.body)).toBe(200);
    expect(commit.body).toMatchObject({ ...predicted, batchId: id, status: 'done' });
    const done = await batch(id);
    expect(done).toMatchObject({ ...predicted, status: 'done' });
    // Read once: the read timing of the check is the batch's only one; the commit only adds the merge.
    expect(done.stageMs.read).toBe(staged.stageMs.read);
    expect(done.stageMs.merge).toBeGreaterThanOrEqual(0);
    expect(staged.stageMs.merge).toBeUndefined();
    expect(await count('admin_license', { batch_id: id })).toBe(9);
    expect(await count('admin_license_staging')).toBe(0);
    expect(await count('rejections', { batch_id: id, status: 'open' })).toBe(11);

    const audit = await knex()('audit_log').where('entity', 'upload').orderBy('id');
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['upload', 'clerk230184'],
      ['commit', 'clerk230184'],
    ]);
    expect(audit[1]?.entity_id).toBe(id);

    expect((await post(clerk, `/api/uploads/${id}/commit`)).status).toBe(409); // once only
    expect((await post(clerk, `/api/uploads/${id}/cancel`)).status).toBe(409);
  });

  it('cancel drops what was staged; a clerk of another county sees nothing of it (404)', async () => {
    const up = await upload(clerk, readFileSync(PENALTY_MESSY), 'penalty.csv');
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    const id = (up.body.batches as Json[])[0]?.batchId as string;
    expect(up.body.batches).toMatchObject([{ total: 29, inserted: 19, duplicate: 1, rejected: 9, status: 'staged' }]);

    expect((await post(otherClerk, `/api/uploads/${id}/commit`)).status).toBe(404);
    expect((await post(otherClerk, `/api/uploads/${id}/cancel`)).status).toBe(404);
    expect((await batch(id)).status).toBe('staged');

    const cancel = await post(clerk, `/api/uploads/${id}/cancel`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    expect(cancel.body).toMatchObject({ batchId: id, status: 'cancelled' });
    expect((await batch(id)).status).toBe('cancelled');
    expect(await count('admin_penalty')).toBe(0);
    expect(await count('admin_penalty_staging')).toBe(0);
    expect(await count('rejections', { batch_id: id })).toBe(0);
    expect(await count('row_warnings', { batch_id: id })).toBe(0);
    expect((await post(clerk, `/api/uploads/${id}/commit`)).status).toBe(409);
    const audit = await knex()('audit_log').where({ entity: 'upload', entity_id: id }).first();
    expect(audit).toMatchObject({ action: 'cancel', actor: 'clerk230184' });
  });

  it("a clerk cannot upload another county's file", async () => {
    const up = await upload(otherClerk, readFileSync(PENALTY_MESSY), 'penalty.csv');
    expect(up.status).toBe(400);
    expect(up.body.code).toBe('COUNTY_MISMATCH');
    expect(up.body.message).toContain('230102');
    expect(uploads()).toEqual([]);
    const asked = await upload(clerk, readFileSync(PENALTY_MESSY), 'penalty.csv', { county: '230102' });
    expect(asked).toMatchObject({ status: 400, body: { code: 'COUNTY_NOT_YOURS' } });
    expect(await count('batches', { created_by: 'clerk230102' })).toBe(0);
  });

  it('refuses a file over the size cap (413) and keeps nothing of it', async () => {
    const before = await count('batches');
    const big = new Uint8Array(LIMIT * 3).fill(65);
    const up = await upload(clerk, big, 'big.csv');
    expect(up.status).toBe(413);
    expect(up.body.code).toBe('UPLOAD_TOO_LARGE');
    expect(uploads()).toEqual([]);
    expect(await count('batches')).toBe(before);
  });

  it('refuses an .xls posing as .xlsx with the clerk message (400)', async () => {
    const up = await upload(clerk, readFileSync(BIFF), '行政处罚.xlsx');
    expect(up.status).toBe(400);
    expect(up.body.code).toBe('FILE_NOT_XLSX');
    expect(String(up.body.message)).toContain('xlsx');
    expect(String(up.body.message)).toContain('行政处罚.xlsx'); // the clerk's name, not the server's
    expect(uploads()).toEqual([]);
  });

  it('an uploaded workbook with rejection ids: held rejections touch nothing until commit', async () => {
    // Rejections to fix, from a steward's own (committed) upload of the same county file.
    const first = await upload(steward, readFileSync(PENALTY_MESSY), 'penalty-again.csv');
    const orig = (first.body.batches as Json[])[0]?.batchId as string;
    expect((await post(steward, `/api/uploads/${orig}/commit`)).status).toBe(200);
    const headers = (await batch(orig)).context?.headers as string[];
    const shown = new Map((await listRejections(srv.wh.wh, { batchId: orig })).map((r) => [r.rowNumber, r]));
    const row = (n: number, edits: Json) => {
      const r = shown.get(n);
      const cells: Json = { ...r?.cells, ...edits };
      return [...headers.map((h) => (cells[h] ?? null) as ExcelJS.CellValue), r?.id ?? null];
    };
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('退回数据');
    ws.addRow([...headers, REJECTION_ID_HEADER]);
    ws.addRow(row(20, { 处罚决定日期: '2024-05-01' })); // fixed
    ws.addRow(row(23, { 处罚决定日期: '2099-01-01' })); // still wrong (and differently)
    const bytes = new Uint8Array(await wb.xlsx.writeBuffer());
    const idOf = (n: number) => shown.get(n)?.id as number;
    const rejection = async (n: number) => knex()('rejections').where('id', idOf(n)).first();
    const before23 = await rejection(23);

    // Staged, then cancelled: the originals are as they were.
    const a = await upload(clerk, bytes, '退回数据-修改.xlsx');
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.batches).toMatchObject([{ total: 2, inserted: 1, rejected: 1, status: 'staged' }]);
    const aId = (a.body.batches as Json[])[0]?.batchId as string;
    expect((await post(clerk, `/api/uploads/${aId}/cancel`)).status).toBe(200);
    expect(await rejection(20)).toMatchObject({ status: 'open', version: 0 });
    expect(await rejection(23)).toEqual(before23);

    // Staged again and committed: the fixed row resolves its rejection, the wrong one updates its own.
    const b = await upload(clerk, bytes, '退回数据-修改.xlsx');
    const bId = (b.body.batches as Json[])[0]?.batchId as string;
    expect(await rejection(20)).toMatchObject({ status: 'open' }); // not before the commit
    const commit = await post(clerk, `/api/uploads/${bId}/commit`);
    expect(commit.body).toMatchObject({ total: 2, inserted: 1, rejected: 1, status: 'done' });
    expect(await rejection(20)).toMatchObject({ status: 'fixed', fix_batch_id: bId, resolved_by: 'clerk230184' });
    const r23 = await rejection(23);
    expect(r23).toMatchObject({ status: 'open', last_batch_id: bId, version: 1 });
    expect(r23.error_codes).toContain('DATE_IN_FUTURE');
    expect(await count('rejections', { batch_id: bId })).toBe(0);
    const done = await batch(bId);
    expect(done.inserted + done.updated + done.unchanged + done.duplicate + done.rejected).toBe(done.total);
  });
});
