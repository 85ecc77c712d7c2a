/**
 * The review service on real data: a messy county file ingested by the real pipeline, then listed,
 * counted, filtered, fixed (through the real stages and a fix batch of its own) and discarded.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getBatchView, listBatchViews } from '../../review/batches.js';
import { discardRejection } from '../../review/discard.js';
import { isReviewError } from '../../review/errors.js';
import { fixMany, fixRejection } from '../../review/fix.js';
import { getRejectionView, listRejectionViews, rejectionFacets } from '../../review/rejections.js';
import type { Actor, User } from '../../review/types.js';
import type { RejectionView } from '../../review/view.js';
import { loadCatalogs } from '../../src/catalog/load.js';
import { makeClock } from '../../src/clock.js';
import { maskIdNumber, residentIdCheckChar } from '../../src/identifiers/index.js';
import { loadReference } from '../../src/reference.js';
import type { Issue, Logger } from '../../src/types.js';
import { FIXTURE_TODAY, FIXTURES, fixtureConfig, ingestForTest } from '../helpers/ingest.js';
import { describeEachWarehouse, openTestWarehouse, type TestWarehouse } from '../helpers/warehouses.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

const user = (id: number, role: User['role'], county: string | null): User => ({
  id,
  username: role === 'clerk' ? `clerk${county}` : role,
  displayName: null,
  role,
  county,
  disabled: false,
});
const steward = user(1, 'steward', null);
const clerk = user(2, 'clerk', '230184'); // the county of the penalty fixture
const licenceClerk = user(3, 'clerk', '230521'); // the licence fixture is ingested as this county
const otherClerk = user(4, 'clerk', '230102'); // a county with no data
const actor = (u: User): Actor => ({ name: u.username, user: u });

const PENALTY = path.join(FIXTURES, 'county/penalty-messy-gbk.csv');
const LICENCE = path.join(FIXTURES, 'county/license-messy.xlsx');

interface Expected {
  sheets: Array<{ rows: Record<string, { outcome: string; errors: string[] }> }>;
}
/** The fixture's golden file: which rows are rejected, with which error codes. */
function expectedRejections(file: string): Map<number, string[]> {
  const e = JSON.parse(readFileSync(`${file}.expected.json`, 'utf8')) as Expected;
  const out = new Map<number, string[]>();
  for (const [n, r] of Object.entries(e.sheets[0]?.rows ?? {}))
    if (r.outcome === 'rejected') out.set(Number(n), r.errors);
  return out;
}

/** A valid resident ID number of county 230184 (check character computed). */
function residentId(birth: string, seq: string): string {
  const first17 = `230184${birth}${seq}`;
  return first17 + residentIdCheckChar(first17);
}

async function reviewError(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
  } catch (e) {
    if (isReviewError(e)) return { status: e.status, code: e.code };
    throw e;
  }
  throw new Error('expected a ReviewError');
}

describeEachWarehouse('review service', (kind) => {
  let t: TestWarehouse;
  let penaltyBatch: string;
  let licenceBatch: string;
  const expected = expectedRejections(PENALTY);
  const deps = () => ({
    config: fixtureConfig(),
    warehouse: t.wh,
    catalogs: loadCatalogs(),
    reference: loadReference(),
    clock: makeClock('Asia/Shanghai', FIXTURE_TODAY),
    logger: silent,
  });
  /** The penalty batch's rejection at a row number, as a steward sees it. */
  const byRow = async (row: number): Promise<RejectionView> => {
    const page = await listRejectionViews(deps(), steward, { batch: penaltyBatch, status: 'all', limit: 500 });
    const r = page.items.find((x) => x.rowNumber === row);
    if (!r) throw new Error(`no rejection at row ${row}`);
    return r;
  };
  const codes = (issues: Issue[]) => issues.filter((i) => i.severity === 'error').map((i) => i.code);
  const count = async (sql: string, params: (string | number)[] = []) =>
    Number((await t.wh.knex.raw(sql, params)).rows[0].n);

  beforeAll(async () => {
    t = await openTestWarehouse(kind, 'review-svc');
    const p = await ingestForTest(t.wh, PENALTY);
    const l = await ingestForTest(t.wh, LICENCE, { county: '230521' });
    penaltyBatch = p.summaries[0]?.batchId as string;
    licenceBatch = l.summaries[0]?.batchId as string;
    expect(penaltyBatch).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(licenceBatch).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(licenceBatch).not.toBe(penaltyBatch);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('lists a batch page by page in row order, with the total and the file column order', async () => {
    const rows = [...expected.keys()].sort((a, b) => a - b);
    const all = await listRejectionViews(deps(), steward, { batch: penaltyBatch });
    expect(all.total).toBe(rows.length);
    expect(all.items.map((r) => r.rowNumber)).toEqual(rows);
    const pages: number[] = [];
    for (let offset = 0; offset < rows.length; offset += 4) {
      const page = await listRejectionViews(deps(), steward, { batch: penaltyBatch, limit: 4, offset });
      expect(page.total).toBe(rows.length);
      pages.push(...page.items.map((r) => r.rowNumber));
    }
    expect(pages).toEqual(rows);
    for (const r of all.items) expect(codes(r.issues).sort()).toEqual([...(expected.get(r.rowNumber) ?? [])].sort());

    // Headers: the CSV's own order (its first columns), so the page shows the file as the clerk knows it.
    const ctx = (await t.wh.knex('batches').where('id', penaltyBatch).first()).context;
    const stored = (typeof ctx === 'string' ? JSON.parse(ctx) : ctx).headers as string[];
    const first = all.items[0] as RejectionView;
    expect(first.headers).toEqual(stored);
    // A ragged row's extra cell comes after the file's columns.
    const ragged = all.items.find((r) => codes(r.issues).includes('ROW_RAGGED')) as RejectionView;
    expect(ragged.headers.slice(0, stored.length)).toEqual(stored);
    expect(ragged.headers.length).toBe(stored.length + 1);
  });

  it('masks ID numbers in cells, values and messages', async () => {
    const lost = (await listRejectionViews(deps(), steward, { batch: penaltyBatch, rule: 'ID_PRECISION_LOST' })).items;
    expect(lost.length).toBe([...expected.values()].filter((e) => e.includes('ID_PRECISION_LOST')).length);
    const raw = await t.wh.knex('rejections').whereIn(
      'id',
      lost.map((r) => r.id),
    );
    const text = JSON.stringify(lost);
    for (const r of raw) {
      const cells = typeof r.cells === 'string' ? JSON.parse(r.cells) : r.cells;
      const id = String(cells['证件号码']);
      if (/^\d{18}$/.test(id)) {
        expect(text).not.toContain(id);
        expect(text).toContain(maskIdNumber(id));
      }
    }
    // Not only ID-shaped ones: a personal column is masked whatever it holds.
    const natural = await byRow(22);
    expect(String(natural.cells['证件号码'])).toMatch(/^\d{4}\*+\d{3}[\dX]$/);
  });

  it('filters by rule, column, status and county; a clerk sees its own county only', async () => {
    const required = [...expected.entries()].filter(([, e]) => e.includes('REQUIRED_MISSING')).map(([n]) => n);
    const byRule = await listRejectionViews(deps(), steward, { batch: penaltyBatch, rule: 'REQUIRED_MISSING' });
    expect(byRule.items.map((r) => r.rowNumber).sort((a, b) => a - b)).toEqual(required.sort((a, b) => a - b));
    const byColumn = await listRejectionViews(deps(), steward, { batch: penaltyBatch, column: 'subject_id_no' });
    expect(
      byColumn.items.every((r) => r.issues.some((i) => i.field === 'subject_id_no' && i.severity === 'error')),
    ).toBe(true);
    expect(byColumn.total).toBeGreaterThan(0);

    const licenceTotal = expectedRejections(LICENCE).size;
    expect((await listRejectionViews(deps(), steward, {})).total).toBe(expected.size + licenceTotal);
    expect((await listRejectionViews(deps(), steward, { county: '230521' })).total).toBe(licenceTotal);
    expect((await listRejectionViews(deps(), clerk, {})).total).toBe(expected.size);
    expect((await listRejectionViews(deps(), licenceClerk, {})).total).toBe(licenceTotal);
    expect((await listRejectionViews(deps(), otherClerk, {})).total).toBe(0);
    // Asking for another county, or another county's batch, shows nothing.
    expect((await listRejectionViews(deps(), clerk, { county: '230521' })).total).toBe(0);
    expect((await listRejectionViews(deps(), clerk, { batch: licenceBatch })).total).toBe(0);
    expect((await listRejectionViews(deps(), steward, { batch: penaltyBatch, status: 'fixed' })).total).toBe(0);

    const batches = await listBatchViews(t.wh, clerk);
    expect(batches.items.map((b) => b.id)).toEqual([penaltyBatch]);
    expect(batches.items[0]).toMatchObject({ kind: 'file', openRejections: expected.size, rejected: expected.size });
    expect((await listBatchViews(t.wh, steward)).total).toBe(2);
    expect(await reviewError(getBatchView(t.wh, clerk, licenceBatch))).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(await reviewError(getBatchView(t.wh, clerk, 'no-such-batch'))).toEqual({ status: 404, code: 'NOT_FOUND' });
  });

  it('counts facets, each under the other filters', async () => {
    // Independent count: from the stored issues of every open rejection of the batch.
    const stored = await t.wh.knex('rejections').where({ batch_id: penaltyBatch, status: 'open' }).select('issues');
    const rows = stored.map((r) => (typeof r.issues === 'string' ? JSON.parse(r.issues) : r.issues) as Issue[]);
    const tally = (pick: (i: Issue) => string | undefined, keep: (issues: Issue[]) => boolean) => {
      const m = new Map<string, number>();
      for (const issues of rows.filter(keep)) {
        for (const k of new Set(issues.filter((i) => i.severity === 'error').map(pick))) {
          if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
        }
      }
      return Object.fromEntries(m);
    };
    const asMap = <T extends { count: number }>(list: T[], key: (x: T) => string) =>
      Object.fromEntries(list.map((x) => [key(x), x.count]));

    const f = await rejectionFacets(deps(), steward, { batch: penaltyBatch });
    expect(f.total).toBe(rows.length);
    expect(asMap(f.rules, (r) => r.code)).toEqual(
      tally(
        (i) => i.code,
        () => true,
      ),
    );
    expect(asMap(f.columns, (c) => c.field)).toEqual(
      tally(
        (i) => i.field,
        () => true,
      ),
    );
    expect(f.counties).toEqual([{ county: '230184', name: '五常市', count: rows.length }]);
    expect(f.rules.find((r) => r.code === 'DATE_IN_FUTURE')?.zh).toBe('日期晚于今天');
    expect(f.columns.find((c) => c.field === 'decision_date')?.title).toBe('处罚决定日期');

    const hasRule = (issues: Issue[]) => issues.some((i) => i.code === 'REQUIRED_MISSING' && i.severity === 'error');
    const g = await rejectionFacets(deps(), steward, { batch: penaltyBatch, rule: 'REQUIRED_MISSING' });
    expect(g.total).toBe(rows.filter(hasRule).length);
    expect(asMap(g.rules, (r) => r.code)).toEqual(
      tally(
        (i) => i.code,
        () => true,
      ),
    ); // not filtered by itself
    expect(asMap(g.columns, (c) => c.field)).toEqual(tally((i) => i.field, hasRule));
    expect(g.counties[0]?.count).toBe(g.total);

    expect((await rejectionFacets(deps(), otherClerk, {})).total).toBe(0);
    const all = await rejectionFacets(deps(), steward, {});
    expect(asMap(all.counties, (c) => String(c.county))).toEqual({
      '230184': expected.size,
      '230521': expectedRejections(LICENCE).size,
    });
  });

  it('a fix that still fails stays open with the new reasons and the edited cells', async () => {
    const r = await byRow(21); // USCC_CHECKSUM
    expect(codes(r.issues)).toEqual(['USCC_CHECKSUM']);
    const res = await fixRejection(deps(), actor(clerk), r.id, {
      version: r.version,
      edits: { 统一社会信用代码: 'ABC' },
    });
    expect(res.status).toBe('still-invalid');
    expect(res.rejection).toMatchObject({ status: 'open', version: r.version + 1 });
    expect(res.rejection.cells['统一社会信用代码']).toBe('ABC');
    expect(codes(res.rejection.issues)).toEqual(['USCC_FORMAT']);
    // Stored too: the rule filter now finds it under its new reason.
    const now = await listRejectionViews(deps(), steward, { batch: penaltyBatch, rule: 'USCC_FORMAT' });
    expect(now.items.map((x) => x.id)).toEqual([r.id]);
    // Editing the version it had before is a conflict.
    expect(
      await reviewError(fixRejection(deps(), actor(clerk), r.id, { version: r.version, edits: { 备注: 'x' } })),
    ).toEqual({ status: 409, code: 'VERSION_CONFLICT' });
    const view = await getRejectionView(deps(), clerk, r.id);
    expect(view.history.map((h) => [h.action, h.actor, h.oldValue, h.newValue])).toEqual([
      ['fix-failed', clerk.username, { 统一社会信用代码: '91230184MA1KX95M3A' }, { 统一社会信用代码: 'ABC' }],
    ]);
  });

  it('a fix that passes loads as a batch of its own; the original counts stay; twice loads once', async () => {
    const before = await getBatchView(t.wh, steward, penaltyBatch);
    const r = await byRow(20); // DATE_IN_FUTURE
    const res = await fixRejection(deps(), actor(clerk), r.id, {
      version: r.version,
      edits: { 处罚决定日期: '2024-05-01' },
    });
    if (res.status !== 'fixed') throw new Error(`still invalid: ${JSON.stringify(res.rejection.issues)}`);
    expect(res.batch).toMatchObject({ county: '230184', total: 1, inserted: 1, rejected: 0 });
    const fixBatch = await getBatchView(t.wh, steward, res.batch.batchId as string);
    expect(fixBatch).toMatchObject({
      kind: 'fix',
      createdBy: clerk.username,
      file: `复核修正：${before.file}`,
      status: 'done',
      total: 1,
      inserted: 1,
    });
    expect(res.rejection).toMatchObject({ status: 'fixed', resolvedBy: clerk.username, fixBatchId: fixBatch.id });
    const loaded = await t.wh.knex('admin_penalty').where('batch_id', fixBatch.id);
    expect(
      loaded.map((x) => [
        x.source_row,
        String(x.decision_date instanceof Date ? x.decision_date.toISOString().slice(0, 10) : x.decision_date).slice(
          0,
          10,
        ),
      ]),
    ).toEqual([[20, '2024-05-01']]);

    const after = await getBatchView(t.wh, steward, penaltyBatch);
    const { openRejections: o1, ...counts1 } = before;
    const { openRejections: o2, ...counts2 } = after;
    expect(counts2).toEqual(counts1);
    expect(o2).toBe(o1 - 1);

    expect(
      await reviewError(
        fixRejection(deps(), actor(clerk), r.id, { version: r.version, edits: { 处罚决定日期: '2024-05-01' } }),
      ),
    ).toEqual({
      status: 409,
      code: 'ALREADY_RESOLVED',
    });
    expect(
      await count(`SELECT count(*) AS n FROM admin_penalty WHERE decision_doc_no = ?`, ['五交罚〔2024〕第0318号']),
    ).toBe(1);
    const history = (await getRejectionView(deps(), steward, r.id)).history;
    expect(history.map((h) => [h.action, h.oldValue, h.newValue])).toEqual([
      ['fix', { 处罚决定日期: '2027-05-01' }, { 处罚决定日期: '2024-05-01' }],
    ]);
    expect(history[0]?.detail).toMatchObject({ batchId: fixBatch.id, originalBatchId: penaltyBatch });
  });

  it('an edit equal to the masked display keeps the original ID number', async () => {
    const r = await byRow(22); // SUBJECT_CATEGORY_MISMATCH: a natural person with a business USCC
    // The page sends the whole row back as it showed it, with one cell changed.
    const edits = Object.fromEntries(r.headers.map((h) => [h, r.cells[h] == null ? '' : String(r.cells[h])]));
    edits['行政相对人类别'] = '个体工商户';
    edits['法定代表人'] = '马立新'; // an individual business names its operator
    const res = await fixRejection(deps(), actor(steward), r.id, { version: r.version, edits });
    if (res.status !== 'fixed') throw new Error(`still invalid: ${JSON.stringify(res.rejection.issues)}`);
    const rec = await t.wh.knex('admin_penalty').where('batch_id', res.batch.batchId).first();
    expect(rec.subject_id_no).toBe('230184199301152881');
    const audit = (await getRejectionView(deps(), steward, r.id)).history;
    // Only what really changed is a change: the masked ID number sent back is not one.
    expect(audit.map((h) => h.newValue)).toEqual([{ 行政相对人类别: '个体工商户', 法定代表人: '马立新' }]);
  });

  it('two fixes of one row at once load it once', async () => {
    const r = await byRow(23); // REQUIRED_MISSING: 违法事实
    const fixesBefore = await count(`SELECT count(*) AS n FROM batches WHERE kind = 'fix'`);
    const edit = { version: r.version, edits: { 违法事实: '2024年8月8日，当事人所属车辆违法超限运输。' } };
    const results = await Promise.allSettled([
      fixRejection(deps(), actor(steward), r.id, edit),
      fixRejection(deps(), actor(clerk), r.id, edit),
    ]);
    const ok = results.filter((x) => x.status === 'fulfilled');
    const failed = results.filter((x) => x.status === 'rejected') as PromiseRejectedResult[];
    expect(ok.length).toBe(1);
    expect(failed.length).toBe(1);
    expect(isReviewError(failed[0]?.reason) && failed[0]?.reason.status).toBe(409);
    expect(await count(`SELECT count(*) AS n FROM batches WHERE kind = 'fix'`)).toBe(fixesBefore + 1);
    expect(
      await count(`SELECT count(*) AS n FROM admin_penalty WHERE decision_doc_no = ?`, ['五交罚〔2024〕第0321号']),
    ).toBe(1);
    expect((await getRejectionView(deps(), steward, r.id)).history.filter((h) => h.action === 'fix').length).toBe(1);
  });

  it('fix-many: rows chosen by a masked value or by id load as ONE batch; failures stay open', async () => {
    const masked = await byRow(7); // ID_PRECISION_LOST, shown masked
    const shown = String(masked.cells['证件号码']);
    expect(shown).toContain('*');
    const id1 = residentId('19710706', '001');
    const m = await fixMany(deps(), actor(clerk), {
      batch: penaltyBatch,
      match: { header: '证件号码', value: shown },
      edits: { 证件号码: id1 },
    });
    expect(m).toMatchObject({ fixed: 1, stillOpen: 0, conflicts: 0 });
    expect(m.batch).toMatchObject({ total: 1, inserted: 1 });

    const a = await byRow(6); // ID_PRECISION_LOST
    const b = await byRow(29); // REQUIRED_MISSING 法定代表人: the ID edit does not help it
    const id2 = residentId('19800101', '002');
    const res = await fixMany(deps(), actor(clerk), {
      batch: penaltyBatch,
      ids: [a.id, b.id],
      edits: { 证件号码: id2 },
    });
    expect(res).toMatchObject({ fixed: 1, stillOpen: 1, conflicts: 0 });
    expect(res.batch).toMatchObject({ total: 1, inserted: 1, rejected: 0 });
    expect(res.failures.map((f) => [f.id, codes(f.issues)])).toEqual([[b.id, ['REQUIRED_MISSING']]]);
    expect(JSON.stringify(res.failures)).not.toContain(id2);
    expect((await byRow(6)).status).toBe('fixed');
    expect(await byRow(29)).toMatchObject({ status: 'open', version: b.version + 1 });
    const rec = await t.wh.knex('admin_penalty').where('batch_id', res.batch?.batchId).first();
    expect(rec.subject_id_no).toBe(id2);

    // A clerk naming another county's rejection gets 404, as if it did not exist.
    const foreign = (await listRejectionViews(deps(), steward, { batch: licenceBatch, limit: 1 }))
      .items[0] as RejectionView;
    expect(await reviewError(fixMany(deps(), actor(clerk), { ids: [foreign.id], edits: { 备注: 'x' } }))).toEqual({
      status: 404,
      code: 'NOT_FOUND',
    });
    expect(
      await reviewError(fixRejection(deps(), actor(clerk), foreign.id, { version: foreign.version, edits: {} })),
    ).toEqual({ status: 404, code: 'NOT_FOUND' });
    expect(await reviewError(getRejectionView(deps(), clerk, foreign.id))).toEqual({ status: 404, code: 'NOT_FOUND' });
  });

  it('discard needs a steward and a reason', async () => {
    const r = await byRow(25); // ENCODING_DAMAGED
    expect(await reviewError(discardRejection(deps(), actor(clerk), r.id, { reason: '重复' }))).toEqual({
      status: 403,
      code: 'FORBIDDEN',
    });
    expect(await reviewError(discardRejection(deps(), actor(steward), r.id, { reason: '  ' }))).toEqual({
      status: 400,
      code: 'REASON_REQUIRED',
    });
    const d = await discardRejection(deps(), actor(steward), r.id, { reason: '与第 24 行重复，已核实' });
    expect(d).toMatchObject({ status: 'discarded', reason: '与第 24 行重复，已核实', resolvedBy: steward.username });
    expect(await reviewError(discardRejection(deps(), actor(steward), r.id, { reason: '再次' }))).toEqual({
      status: 409,
      code: 'ALREADY_RESOLVED',
    });
    const h = (await getRejectionView(deps(), steward, r.id)).history;
    expect(h.map((x) => [x.action, x.oldValue, x.newValue])).toEqual([
      ['discard', { status: 'open' }, { status: 'discarded', reason: '与第 24 行重复，已核实' }],
    ]);
    expect((await listRejectionViews(deps(), steward, { batch: penaltyBatch, status: 'discarded' })).total).toBe(1);
  });

  it('the audit log has every change, and every ledger still adds up', async () => {
    // Each change bumps a rejection's version by one and writes one audit row in the same transaction.
    const rows = await t.wh.knex.raw(
      `SELECT r.id, r.version, (SELECT count(*) FROM audit_log a WHERE a.entity = 'rejection' AND a.entity_id = r.id::text) AS n
       FROM rejections r`,
    );
    const changed = (rows.rows as Array<{ id: unknown; version: unknown; n: unknown }>).filter(
      (r) => Number(r.version) > 0,
    );
    expect(changed.length).toBeGreaterThanOrEqual(7);
    for (const r of changed) expect([Number(r.id), Number(r.n)]).toEqual([Number(r.id), Number(r.version)]);

    const ledgers = await t.wh.knex('batches').select('*');
    for (const b of ledgers) {
      expect(
        Number(b.inserted) + Number(b.updated) + Number(b.unchanged) + Number(b.duplicate) + Number(b.rejected),
      ).toBe(Number(b.total));
    }
    const fixed = await count(`SELECT count(*) AS n FROM rejections WHERE status = 'fixed'`);
    const fixRows = await count(`SELECT coalesce(sum(total), 0) AS n FROM batches WHERE kind = 'fix'`);
    expect(fixRows).toBe(fixed);
    const orig = await getBatchView(t.wh, steward, penaltyBatch);
    expect(orig.rejected).toBe(expected.size);
    expect(orig.openRejections).toBe(
      await count(`SELECT count(*) AS n FROM rejections WHERE batch_id = ? AND status = 'open'`, [penaltyBatch]),
    );
  });
});
