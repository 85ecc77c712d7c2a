/**
 * Staged uploads nobody commits or cancels (issue 4): expireHeldBatches cancels them after a limit, through
 * the cancel path (staging rows, rejections and warnings gone, audited as system:expiry), and `guiji serve`
 * runs it at start. Until committed, an upload's rejections are its dry run: not in the review lists, only
 * when asked for by its batch id.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { EXPIRY_INTERVAL_MS, startServe } from '../../cli/commands/serve.js';
import { EXPIRY_ACTOR, expireHeldBatches } from '../../pipelines/held.js';
import { engineDeps } from '../../src/engine-deps.js';
import type { Logger } from '../../src/types.js';
import { getBatch } from '../../src/warehouse/batches.js';
import { FIXTURES } from '../helpers/ingest.js';
import { describeEachWarehouse } from '../helpers/warehouses.js';
import { type LoggedIn, startTestServer, type TestServer } from '../helpers/web.js';

const LICENSE_MESSY = path.join(FIXTURES, 'county/license-messy.xlsx'); // 230184: 21 rows, 11 rejected
const PENALTY_MESSY = path.join(FIXTURES, 'county/penalty-messy-gbk.csv'); // 230184: 29 rows, 9 rejected
const HOUR = 3_600_000;

type Json = Record<string, unknown>;

/** A logger that keeps what is logged at warn and error. */
function capturingLogger() {
  const lines: Array<{ level: string; obj: Json; msg: string }> = [];
  const at =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      lines.push({ level, obj: (obj ?? {}) as Json, msg: msg ?? '' });
    };
  const logger: Logger = {
    debug() {},
    info() {},
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return { logger, lines };
}

describeEachWarehouse('staged upload expiry', (kind) => {
  let srv: TestServer;
  let clerk: LoggedIn;
  let steward: LoggedIn;

  beforeAll(async () => {
    srv = await startTestServer(kind, { label: 'upload_expiry' });
    clerk = await srv.login('clerk230184');
    steward = await srv.login('steward');
  });
  afterAll(async () => {
    await srv?.close();
  });

  const knex = () => srv.wh.wh.knex;
  const count = async (table: string, where: Json = {}) =>
    Number((await knex()(table).where(where).count({ n: '*' }))[0]?.n);
  const statusOf = async (id: string) => (await getBatch(srv.wh.wh, id))?.status;

  async function upload(as: LoggedIn, file: string, name: string): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([readFileSync(file)]), name);
    const res = await fetch(`${srv.url}/api/uploads`, { method: 'POST', headers: as.headers(), body: form });
    const body = (await res.json()) as Json;
    expect(res.status, JSON.stringify(body)).toBe(200);
    return (body.batches as Json[])[0]?.batchId as string;
  }
  async function post(as: LoggedIn, url: string) {
    const res = await fetch(`${srv.url}${url}`, { method: 'POST', headers: as.headers() });
    return { status: res.status, body: (await res.json()) as Json };
  }
  async function get(as: LoggedIn, url: string): Promise<Json> {
    const res = await fetch(`${srv.url}${url}`, { headers: as.headers() });
    const body = (await res.json()) as Json;
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body;
  }
  /** Makes a batch look as if it was started `hours` ago. */
  const age = (id: string, hours: number) =>
    knex().raw(`UPDATE batches SET started_at = now() - ? * interval '1 hour' WHERE id = ?`, [hours, id]);

  it("a staged upload's rejections are not in the review lists until committed, but are by its batch id", async () => {
    const id = await upload(clerk, PENALTY_MESSY, 'penalty.csv');
    expect(await statusOf(id)).toBe('staged');
    expect(await count('rejections', { batch_id: id })).toBe(9);

    for (const as of [steward, clerk]) {
      const list = await get(as, '/api/rejections?limit=500');
      expect(list.total).toBe(0);
      expect((list.items as Json[]).some((r) => r.batchId === id)).toBe(false);
      const facets = await get(as, '/api/rejections/facets');
      expect(facets).toMatchObject({ total: 0, rules: [], columns: [], counties: [] });
      // Also under the other filters: by county, by rule, every status.
      expect((await get(as, '/api/rejections?county=230184&status=all')).total).toBe(0);
      expect((await get(as, '/api/rejections/facets?status=all&county=230184')).total).toBe(0);

      // The dry run page asks by batch: all there, with facets.
      const mine = await get(as, `/api/rejections?batch=${id}&limit=500`);
      expect(mine.total).toBe(9);
      expect((mine.items as Json[]).every((r) => r.batchId === id && r.status === 'open')).toBe(true);
      const mineFacets = await get(as, `/api/rejections/facets?batch=${id}`);
      expect(mineFacets.total).toBe(9);
      expect((mineFacets.rules as Json[]).length).toBeGreaterThan(0);
      const rule = (mineFacets.rules as Json[])[0] as { code: string; count: number };
      expect((await get(as, `/api/rejections?batch=${id}&rule=${rule.code}`)).total).toBe(rule.count);
    }

    // Not fixed or discarded before the commit: a cancel would delete the row under a loaded fix.
    const first = ((await get(steward, `/api/rejections?batch=${id}&limit=1`)).items as Json[])[0] as Json;
    for (const [as, action, body] of [
      [clerk, 'fix', { version: first.version, edits: {} }],
      [steward, 'discard', { reason: '测试' }],
    ] as const) {
      const res = await fetch(`${srv.url}/api/rejections/${first.id}/${action}`, {
        method: 'POST',
        headers: { ...as.headers(), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(409);
      expect(((await res.json()) as Json).code).toBe('UPLOAD_NOT_COMMITTED');
    }

    // Committed: they are the batch's rejections like any other's.
    expect((await post(clerk, `/api/uploads/${id}/commit`)).status).toBe(200);
    expect((await get(steward, '/api/rejections?limit=500')).total).toBe(9);
    expect((await get(clerk, '/api/rejections/facets')).total).toBe(9);

    // Another staged upload next to committed ones: the lists still show the committed ones only.
    const held = await upload(clerk, LICENSE_MESSY, 'license.xlsx');
    const list = await get(steward, '/api/rejections?limit=500');
    expect(list.total).toBe(9);
    expect((list.items as Json[]).every((r) => r.batchId === id)).toBe(true);
    expect((await get(steward, '/api/rejections/facets')).total).toBe(9);
    expect((await get(steward, `/api/rejections?batch=${held}`)).total).toBe(11);
    expect((await post(clerk, `/api/uploads/${held}/cancel`)).status).toBe(200);
  });

  it('expiry cancels old staged uploads through the cancel path; fresh and committed ones are left alone', async () => {
    const old = await upload(clerk, PENALTY_MESSY, '旧的-penalty.csv');
    const fresh = await upload(clerk, LICENSE_MESSY, '新的-license.xlsx');
    const committed = await upload(clerk, LICENSE_MESSY, '已提交-license.xlsx');
    expect((await post(clerk, `/api/uploads/${committed}/commit`)).status).toBe(200);
    await age(old, 30);
    await age(fresh, 2);
    await age(committed, 30);
    expect(await count('admin_penalty_staging', { batch_id: old })).toBe(20);
    expect(await count('rejections', { batch_id: old })).toBe(9);
    const committedRejections = await count('rejections', { batch_id: committed });
    const committedRows = await count('admin_license', { batch_id: committed });
    expect(committedRejections).toBe(11);
    expect(committedRows).toBe(9);

    const { logger, lines } = capturingLogger();
    const deps = { ...engineDeps(srv.deps.ctx), logger };
    expect(await expireHeldBatches(deps, { olderThanMs: 24 * HOUR })).toEqual([old]);

    expect(await statusOf(old)).toBe('cancelled');
    expect(await count('admin_penalty_staging', { batch_id: old })).toBe(0);
    expect(await count('rejections', { batch_id: old })).toBe(0);
    expect(await count('row_warnings', { batch_id: old })).toBe(0);
    const audit = await knex()('audit_log').where({ entity: 'upload', entity_id: old, action: 'cancel' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: EXPIRY_ACTOR });
    const detail = (typeof audit[0].detail === 'string' ? JSON.parse(audit[0].detail) : audit[0].detail) as Json;
    expect(detail).toMatchObject({ file: '旧的-penalty.csv', rejections: 9 });
    expect(String(detail.reason)).toContain('24 h');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      obj: { batchId: old, county: '230184', createdBy: 'clerk230184' },
    });

    // The fresh one waits, the committed one is untouched.
    expect(await statusOf(fresh)).toBe('staged');
    expect(await count('admin_license_staging', { batch_id: fresh })).toBe(10);
    expect(await count('rejections', { batch_id: fresh })).toBe(11);
    expect(await statusOf(committed)).toBe('done');
    expect(await count('rejections', { batch_id: committed })).toBe(committedRejections);
    expect(await count('admin_license', { batch_id: committed })).toBe(committedRows);

    // Once only: nothing more to expire now; the fresh one goes when its time comes (`now` later).
    expect(await expireHeldBatches(deps, { olderThanMs: 24 * HOUR })).toEqual([]);
    expect(await count('audit_log', { entity: 'upload', entity_id: old, action: 'cancel' })).toBe(1);
    const later = new Date(Date.now() + 23 * HOUR);
    expect(await expireHeldBatches(deps, { olderThanMs: 24 * HOUR, now: later })).toEqual([fresh]);
    expect(await statusOf(fresh)).toBe('cancelled');
    expect(await count('admin_license_staging')).toBe(0);
    expect(await statusOf(committed)).toBe('done');
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);

    // The clerk's own commit or cancel of an expired upload is a conflict, as after a cancel.
    expect((await post(clerk, `/api/uploads/${old}/commit`)).status).toBe(409);
    await expect(expireHeldBatches(deps, { olderThanMs: -1 })).rejects.toThrow(/olderThanMs/);
  });

  it('`guiji serve` expires at start (--staged-ttl-hours) and stops its timer when closed', async () => {
    const old = await upload(clerk, PENALTY_MESSY, 'serve-old.csv');
    const young = await upload(clerk, PENALTY_MESSY, 'serve-young.csv');
    await age(old, 5);
    await age(young, 1);
    expect(EXPIRY_INTERVAL_MS).toBe(15 * 60 * 1000);
    const opts = { port: '0', host: '127.0.0.1', uploadLimitMb: '1' };
    await expect(startServe(srv.deps.ctx, { ...opts, stagedTtlHours: '0' })).rejects.toThrow(/--staged-ttl-hours/);

    // The default (24 h) expires neither.
    const first = await startServe(srv.deps.ctx, opts);
    await first.app.close();
    expect(await statusOf(old)).toBe('staged');

    const setSpy = vi.spyOn(globalThis, 'setInterval');
    const clearSpy = vi.spyOn(globalThis, 'clearInterval');
    try {
      const { app } = await startServe(srv.deps.ctx, { ...opts, stagedTtlHours: '4' });
      const call = setSpy.mock.calls.findIndex((c) => c[1] === EXPIRY_INTERVAL_MS);
      expect(call).toBeGreaterThanOrEqual(0);
      const timer = setSpy.mock.results[call]?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false); // never keeps the process alive
      try {
        expect(await statusOf(old)).toBe('cancelled');
        expect(await statusOf(young)).toBe('staged');
        const audit = await knex()('audit_log').where({ entity: 'upload', entity_id: old }).first();
        expect(audit).toMatchObject({ action: 'cancel', actor: EXPIRY_ACTOR });
      } finally {
        await app.close();
      }
      expect(clearSpy).toHaveBeenCalledWith(timer);
    } finally {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    }
    expect((await post(clerk, `/api/uploads/${young}/cancel`)).status).toBe(200);
  });
  it('a commit whose staged rows were lost (the database restarted) fails, and leaves nothing staged', async () => {
    const id = await upload(clerk, PENALTY_MESSY, 'penalty-lost.csv');
    expect(await count('admin_penalty_staging', { batch_id: id })).toBe(20);
    // Staging is UNLOGGED: a crash empties it. Lose a few rows as such a restart would.
    await knex().raw(
      `DELETE FROM admin_penalty_staging WHERE batch_id = ? AND row_number IN
         (SELECT row_number FROM admin_penalty_staging WHERE batch_id = ? ORDER BY row_number LIMIT 5)`,
      [id, id],
    );
    const loadedBefore = await count('admin_penalty');
    const res = await post(clerk, `/api/uploads/${id}/commit`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'STAGING_LOST',
      message: `上传批次 ${id} 暂存的数据已丢失（数据库曾重启），请重新上传文件。`,
    });
    expect(await statusOf(id)).toBe('failed');
    expect(await count('admin_penalty_staging', { batch_id: id })).toBe(0);
    expect(await count('admin_penalty')).toBe(loadedBefore);
  });
});
