/**
 * The review API over HTTP (a real server, real sessions): county scope for clerks (404, also when
 * guessing ids), roles (403), CSRF on mutations, and a fix end to end.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BatchView } from '../../review/batches.js';
import type { RejectionView } from '../../review/view.js';
import { FIXTURES, ingestForTest } from '../helpers/ingest.js';
import { describeEachWarehouse } from '../helpers/warehouses.js';
import { type LoggedIn, startTestServer, type TestServer } from '../helpers/web.js';

interface Page<T> {
  items: T[];
  total: number;
}

describeEachWarehouse('review API', (kind) => {
  let s: TestServer;
  let penaltyBatch: string;
  let licenceBatch: string;
  let clerk: LoggedIn; // county 230184: the penalty file's
  let steward: LoggedIn;

  const call = async (method: string, url: string, who?: LoggedIn | Record<string, string>, body?: unknown) => {
    const headers: Record<string, string> =
      who === undefined
        ? {}
        : 'headers' in who && typeof who.headers === 'function'
          ? who.headers()
          : (who as Record<string, string>);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${s.url}${url}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const get = (url: string, who?: LoggedIn) => call('GET', url, who);
  const post = (url: string, who: LoggedIn | Record<string, string> | undefined, body: unknown) =>
    call('POST', url, who, body);
  const rejectionAt = async (batch: string, row: number): Promise<RejectionView> => {
    const page = (await get(`/api/rejections?batch=${batch}&status=all&limit=500`, steward))
      .body as Page<RejectionView>;
    const r = page.items.find((x) => x.rowNumber === row);
    if (!r) throw new Error(`no rejection at row ${row}`);
    return r;
  };

  beforeAll(async () => {
    s = await startTestServer(kind, { label: 'review-api' });
    const p = await ingestForTest(s.wh.wh, path.join(FIXTURES, 'county/penalty-messy-gbk.csv'));
    const l = await ingestForTest(s.wh.wh, path.join(FIXTURES, 'county/license-messy.xlsx'), { county: '230521' });
    penaltyBatch = p.summaries[0]?.batchId as string;
    licenceBatch = l.summaries[0]?.batchId as string;
    clerk = await s.login('clerk230184');
    steward = await s.login('steward');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('nothing that shows or changes data answers without a session', async () => {
    const r = await rejectionAt(penaltyBatch, 20);
    for (const [method, url] of [
      ['GET', '/api/catalogs'],
      ['GET', '/api/batches'],
      ['GET', `/api/batches/${penaltyBatch}`],
      ['GET', '/api/rejections'],
      ['GET', '/api/rejections/facets'],
      ['GET', `/api/rejections/${r.id}`],
      ['POST', `/api/rejections/${r.id}/fix`],
      ['POST', '/api/rejections/fix-many'],
      ['POST', `/api/rejections/${r.id}/discard`],
    ] as const) {
      const res = await call(
        method,
        url,
        undefined,
        method === 'POST' ? { version: 0, edits: {}, reason: 'x' } : undefined,
      );
      expect([url, res.status, res.body?.code]).toEqual([url, 401, 'UNAUTHENTICATED']);
    }
  });

  it("a clerk sees its own county only: another county's batch and rejections are 404, also by guessing ids", async () => {
    const batches = (await get('/api/batches', clerk)).body as Page<BatchView>;
    expect(batches.items.map((b) => b.id)).toEqual([penaltyBatch]);
    expect(batches.items[0]?.openRejections).toBeGreaterThan(0);
    expect((await get(`/api/batches/${licenceBatch}`, clerk)).status).toBe(404);
    expect((await get(`/api/batches/${penaltyBatch}`, clerk)).status).toBe(200);
    expect(((await get(`/api/rejections?batch=${licenceBatch}`, clerk)).body as Page<RejectionView>).total).toBe(0);
    expect(((await get('/api/rejections?county=230521', clerk)).body as Page<RejectionView>).total).toBe(0);
    expect(((await get(`/api/rejections/facets?batch=${licenceBatch}`, clerk)).body as { total: number }).total).toBe(
      0,
    );

    // Every id from 1 past the last: own county → 200, anyone else's or none → the same 404.
    const own = new Set(
      ((await get('/api/rejections?status=all&limit=500', clerk)).body as Page<RejectionView>).items.map((r) => r.id),
    );
    const all = ((await get('/api/rejections?status=all&limit=500', steward)).body as Page<RejectionView>).items;
    const max = Math.max(...all.map((r) => r.id));
    const foreign = all.filter((r) => r.county !== '230184');
    expect(foreign.length).toBeGreaterThan(0);
    for (let id = 1; id <= max + 3; id++) {
      const res = await get(`/api/rejections/${id}`, clerk);
      expect([id, res.status]).toEqual([id, own.has(id) ? 200 : 404]);
      if (res.status === 404) expect(res.body.code).toBe('NOT_FOUND');
    }
    // Nor can it change one.
    const f = foreign[0] as RejectionView;
    const fix = await post(`/api/rejections/${f.id}/fix`, clerk, { version: f.version, edits: { 备注: 'x' } });
    expect([fix.status, fix.body.code]).toEqual([404, 'NOT_FOUND']);
    const many = await post('/api/rejections/fix-many', clerk, { ids: [f.id], edits: { 备注: 'x' } });
    expect(many.status).toBe(404);
    expect((await rejectionAt(licenceBatch, f.rowNumber)).version).toBe(f.version);
  });

  it('a mutation without the CSRF token is refused and changes nothing', async () => {
    const r = await rejectionAt(penaltyBatch, 23);
    const body = { version: r.version, edits: { 违法事实: '当事人违法超限运输。' } };
    const none = await post(`/api/rejections/${r.id}/fix`, { cookie: clerk.cookie }, body);
    expect([none.status, none.body.code]).toEqual([403, 'CSRF']);
    const wrong = await post(`/api/rejections/${r.id}/fix`, { cookie: clerk.cookie, 'x-csrf-token': 'nope' }, body);
    expect([wrong.status, wrong.body.code]).toEqual([403, 'CSRF']);
    const discard = await post(`/api/rejections/${r.id}/discard`, { cookie: steward.cookie }, { reason: '重复' });
    expect([discard.status, discard.body.code]).toEqual([403, 'CSRF']);
    expect(await rejectionAt(penaltyBatch, 23)).toMatchObject({ status: 'open', version: r.version });
  });

  it('a fix through the API: still invalid → 422 with the new reasons; valid → its own batch; twice → 409', async () => {
    const r = await rejectionAt(penaltyBatch, 20); // DATE_IN_FUTURE
    const bad = await post(`/api/rejections/${r.id}/fix`, clerk, {
      version: r.version,
      edits: { 处罚决定日期: '2024-13-45' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('STILL_INVALID');
    expect(bad.body.message).toContain('仍未通过校验');
    const stillOpen = bad.body.rejection as RejectionView;
    expect(stillOpen).toMatchObject({ id: r.id, status: 'open', version: r.version + 1 });
    expect(stillOpen.cells['处罚决定日期']).toBe('2024-13-45');
    expect(stillOpen.issues.filter((i) => i.severity === 'error').map((i) => i.code)).toEqual(['DATE_INVALID']);

    const stale = await post(`/api/rejections/${r.id}/fix`, clerk, {
      version: r.version,
      edits: { 处罚决定日期: '2024-05-01' },
    });
    expect([stale.status, stale.body.code]).toEqual([409, 'VERSION_CONFLICT']);

    const good = await post(`/api/rejections/${r.id}/fix`, clerk, {
      version: stillOpen.version,
      edits: { 处罚决定日期: '2024-05-01' },
    });
    expect(good.status).toBe(200);
    expect(good.body.status).toBe('fixed');
    expect(good.body.batch).toMatchObject({ total: 1, inserted: 1, rejected: 0, county: '230184' });
    const fixBatch = (await get(`/api/batches/${good.body.batch.batchId}`, clerk)).body as BatchView;
    expect(fixBatch).toMatchObject({ kind: 'fix', createdBy: 'clerk230184', status: 'done' });

    const again = await post(`/api/rejections/${r.id}/fix`, clerk, {
      version: stillOpen.version,
      edits: { 处罚决定日期: '2024-05-01' },
    });
    expect([again.status, again.body.code]).toEqual([409, 'ALREADY_RESOLVED']);
    const loaded = await s.wh.wh.knex('admin_penalty').where('decision_doc_no', '五交罚〔2024〕第0318号');
    expect(loaded.length).toBe(1);

    const detail = (await get(`/api/rejections/${r.id}`, clerk)).body as RejectionView & {
      history: Array<{
        action: string;
        actor: string;
        oldValue: unknown;
        newValue: unknown;
        detail: { batchId?: string };
      }>;
    };
    expect(detail).toMatchObject({ status: 'fixed', fixBatchId: fixBatch.id, resolvedBy: 'clerk230184' });
    expect(detail.history.map((h) => [h.action, h.actor, h.oldValue, h.newValue])).toEqual([
      ['fix-failed', 'clerk230184', { 处罚决定日期: '2027-05-01' }, { 处罚决定日期: '2024-13-45' }],
      ['fix', 'clerk230184', { 处罚决定日期: '2024-13-45' }, { 处罚决定日期: '2024-05-01' }],
    ]);
    expect(detail.history[1]?.detail.batchId).toBe(fixBatch.id);
  });

  it('fix-many through the API: every row showing a value gets the same edit, loaded as one batch', async () => {
    const r = await rejectionAt(penaltyBatch, 29); // 法定代表人 holds the placeholder '/'
    const res = await post('/api/rejections/fix-many', clerk, {
      batch: penaltyBatch,
      match: { header: '法定代表人', value: String(r.cells['法定代表人']) },
      edits: { 法定代表人: '王德顺' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ fixed: 1, stillOpen: 0, conflicts: 0, failures: [] });
    expect(res.body.batch).toMatchObject({ total: 1, inserted: 1, county: '230184' });
    expect(await rejectionAt(penaltyBatch, 29)).toMatchObject({ status: 'fixed', fixBatchId: res.body.batch.batchId });
    const none = await post('/api/rejections/fix-many', clerk, { batch: penaltyBatch, edits: { 备注: 'x' } });
    expect([none.status, none.body.code]).toEqual([400, 'NOTHING_SELECTED']);
    const bulk = await post('/api/rejections/discard-many', clerk, { ids: [r.id], reason: '重复' });
    expect([bulk.status, bulk.body.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('discard: a clerk gets 403; a steward needs a reason', async () => {
    const r = await rejectionAt(penaltyBatch, 25);
    const byClerk = await post(`/api/rejections/${r.id}/discard`, clerk, { reason: '重复数据' });
    expect([byClerk.status, byClerk.body.code]).toEqual([403, 'FORBIDDEN']);
    const empty = await post(`/api/rejections/${r.id}/discard`, steward, { reason: '   ' });
    expect([empty.status, empty.body.code]).toEqual([400, 'REASON_REQUIRED']);
    expect((await post(`/api/rejections/${r.id}/discard`, steward, {})).status).toBe(400);
    const ok = await post(`/api/rejections/${r.id}/discard`, steward, { reason: '重复数据，已核实' });
    expect(ok.status).toBe(200);
    expect(ok.body.rejection).toMatchObject({ status: 'discarded', reason: '重复数据，已核实', resolvedBy: 'steward' });
    const twice = await post(`/api/rejections/${r.id}/discard`, steward, { reason: '再次' });
    expect([twice.status, twice.body.code]).toEqual([409, 'ALREADY_RESOLVED']);
  });

  it('lists, facets and catalogs answer in the contract shape; bad queries are 400', async () => {
    const page = await get(`/api/rejections?batch=${penaltyBatch}&rule=ID_PRECISION_LOST&limit=1&offset=1`, clerk);
    expect(page.status).toBe(200);
    expect(page.body.items.length).toBe(1);
    const item = page.body.items[0] as RejectionView;
    expect(Object.keys(item).sort()).toEqual(
      [
        'id',
        'batchId',
        'catalog',
        'county',
        'file',
        'sheet',
        'rowNumber',
        'status',
        'version',
        'resolvedBy',
        'resolvedAt',
        'reason',
        'fixBatchId',
        'headers',
        'cells',
        'issues',
        'values',
      ].sort(),
    );
    expect(item.headers.every((h) => h in item.cells)).toBe(true);
    const facets = (await get(`/api/rejections/facets?batch=${penaltyBatch}`, clerk)).body;
    const open = (await get(`/api/rejections?batch=${penaltyBatch}`, clerk)).body.total;
    expect(facets.total).toBe(open);
    expect(facets.rules.find((r: { code: string }) => r.code === 'ID_PRECISION_LOST')?.count).toBe(page.body.total);
    expect(facets.rules.every((r: { zh: string; code: string }) => r.zh && r.zh !== r.code)).toBe(true);
    expect(facets.counties).toEqual([{ county: '230184', name: '五常市', count: facets.total }]);
    const catalogs = (await get('/api/catalogs', clerk)).body as Array<{ id: string; title: string }>;
    expect(catalogs.map((c) => c.id).sort()).toEqual(s.deps.ctx.catalogs.list.map((c) => c.id).sort());

    expect((await get('/api/rejections?status=bogus', clerk)).status).toBe(400);
    expect((await get('/api/rejections?limit=100000', clerk)).status).toBe(400);
    expect((await get("/api/rejections?rule=x';drop", clerk)).status).toBe(400);
    expect((await get('/api/rejections/abc', clerk)).status).toBe(400);
  });
});
