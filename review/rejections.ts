/**
 * Rejected rows for the review page: server-side pages, filters by batch, status, rule, column and
 * county, facet counts, one row with its history. A clerk sees its own county only (404 otherwise).
 * Filters use the indexes of migrations/005_review.ts: (batch_id, status, row_number), GIN on
 * error_codes / error_fields, (county, status, id).
 */
import type { Knex } from 'knex';
import { maskRejectionContent, type RejectionStatus } from '../src/warehouse/rejections.js';
import { assertVisible, countyScope } from './access.js';
import { type AuditRecord, listAudit } from './audit.js';
import type { ReviewDeps } from './deps.js';
import { badRequest, conflict } from './errors.js';
import { type LayoutColumn, personalKeys, rowLayout, type StoredColumns } from './layout.js';
import { ruleLabel } from './rule-labels.js';
import type { User } from './types.js';
import { maskCells, REJECTION_COLUMNS, type RejectionView, type StoredRejection, toStored, toView } from './view.js';

export type StatusFilter = RejectionStatus | 'all';
export const STATUS_FILTERS: readonly StatusFilter[] = ['open', 'fixed', 'discarded', 'all'];

export interface RejectionFilter {
  batch?: string;
  /** Default 'open'. */
  status?: StatusFilter;
  /** A rule code: rows with an error of this code. */
  rule?: string;
  /** A catalog field name: rows with an error on this field. */
  column?: string;
  county?: string;
}

export interface RejectionPage {
  items: RejectionView[];
  total: number;
}

export interface Facets {
  total: number;
  rules: Array<{ code: string; count: number; zh: string }>;
  columns: Array<{ field: string; title: string; count: number }>;
  counties: Array<{ county: string | null; name: string; count: number }>;
}

type Binding = string | number;

interface Clause {
  sql: string;
  params: Binding[];
}

/**
 * Not a rejection of a held upload that was not committed: an anti-join on batches (a small table; on
 * 150,000 rejections it kept the pages' plans and cost a few ms on counts). Batch-filtered queries never
 * carry it, so they keep the (batch_id, status, row_number) index.
 */
const PENDING_UPLOAD = `NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = rejections.batch_id
  AND (b.status IN ('staged', 'cancelled') OR (b.kind = 'upload' AND b.status <> 'done')))`;

/** The conditions every query of a filter shares (batch, status, the user's county) and each facet's own. */
function clauses(user: User, f: RejectionFilter) {
  const status = f.status ?? 'open';
  if (!STATUS_FILTERS.includes(status)) {
    throw badRequest('BAD_STATUS', `状态“${status}”无效，应为 open、fixed、discarded 或 all。`, `bad status ${status}`);
  }
  const base: Clause[] = [];
  if (f.batch !== undefined) base.push({ sql: 'batch_id = ?', params: [f.batch] });
  // Asked for no batch: only rejections of batches that count. A held upload's (staged, being checked
  // or committed, cancelled, failed) are its dry run, shown when asked for by its batch id only.
  else base.push({ sql: PENDING_UPLOAD, params: [] });
  if (status !== 'all') base.push({ sql: 'status = ?', params: [status] });
  const scope = countyScope(user);
  if (scope !== null) base.push({ sql: 'county = ?', params: [scope] });
  return {
    base,
    rule: f.rule !== undefined ? { sql: 'error_codes @> ARRAY[?]::text[]', params: [f.rule] } : undefined,
    column: f.column !== undefined ? { sql: 'error_fields @> ARRAY[?]::text[]', params: [f.column] } : undefined,
    county: f.county !== undefined ? { sql: 'county = ?', params: [f.county] } : undefined,
  };
}

function where(list: ReadonlyArray<Clause | undefined>): Clause {
  const present = list.filter((c): c is Clause => c !== undefined);
  if (present.length === 0) return { sql: 'TRUE', params: [] };
  return { sql: present.map((c) => `(${c.sql})`).join(' AND '), params: present.flatMap((c) => c.params) };
}

const COLS = REJECTION_COLUMNS.join(', ');

/** One page of rejections, ORDER BY batch_id, row_number, with the total under the same filters. */
export async function listRejectionViews(
  deps: ReviewDeps,
  user: User,
  f: RejectionFilter & { limit?: number; offset?: number } = {},
): Promise<RejectionPage> {
  const knex = deps.warehouse.knex;
  const c = clauses(user, f);
  const w = where([...c.base, c.rule, c.column, c.county]);
  const limit = Math.min(Math.max(1, f.limit ?? 50), 500);
  const offset = Math.max(0, f.offset ?? 0);
  // The page picks ids first (narrow rows), then reads the wide columns of those 50 only.
  const [page, count] = await Promise.all([
    knex.raw(
      `SELECT ${COLS} FROM rejections WHERE id IN (
         SELECT id FROM rejections WHERE ${w.sql} ORDER BY batch_id, row_number LIMIT ? OFFSET ?)
       ORDER BY batch_id, row_number`,
      [...w.params, limit, offset],
    ),
    knex.raw(`SELECT count(*) AS n FROM rejections WHERE ${w.sql}`, w.params),
  ]);
  const stored = (page.rows as Record<string, unknown>[]).map(toStored);
  const items = await views(deps, stored);
  return { items, total: Number((count.rows as Array<{ n: unknown }>)[0]?.n ?? 0) };
}

/** Counts per rule, column and county, each under the other filters, and the total under all of them. */
export async function rejectionFacets(deps: ReviewDeps, user: User, f: RejectionFilter = {}): Promise<Facets> {
  const knex = deps.warehouse.knex;
  const base = where(clauses(user, f).base);
  // One scan of the narrow columns, grouped by what the facets need: a batch has few distinct
  // combinations of codes and fields, so each facet is then summed from those groups, under the other
  // filters, without unnesting 100,000 arrays.
  const res = await knex.transaction(async (trx): Promise<{ rows: unknown[] }> => {
    // Fresh rows have no statistics yet: the planner then expects one row and sorts 100,000 arrays on
    // disk to group them; hashing the few groups is what this query always wants.
    await trx.raw('SET LOCAL enable_sort = off');
    return await trx.raw(
      `SELECT county, catalog, error_codes, error_fields, count(*) AS n FROM rejections
       WHERE ${base.sql} GROUP BY county, catalog, error_codes, error_fields`,
      base.params,
    );
  });
  type Group = { county: string | null; catalog: string; error_codes: string[]; error_fields: string[]; n: unknown };
  const inRule = (g: Group) => f.rule === undefined || g.error_codes.includes(f.rule);
  const inColumn = (g: Group) => f.column === undefined || g.error_fields.includes(f.column);
  const inCounty = (g: Group) => f.county === undefined || g.county === f.county;
  const rules = new Map<string, number>();
  const columns = new Map<string, { count: number; titles: Set<string> }>();
  const counties = new Map<string | null, number>();
  let total = 0;
  for (const g of res.rows as Group[]) {
    const n = Number(g.n);
    if (inColumn(g) && inCounty(g)) for (const code of g.error_codes) rules.set(code, (rules.get(code) ?? 0) + n);
    if (inRule(g) && inCounty(g)) {
      for (const field of g.error_fields) {
        // A field of several catalogs is one column of the facet; its title is each catalog's.
        const c = columns.get(field) ?? { count: 0, titles: new Set<string>() };
        c.count += n;
        c.titles.add(fieldTitle(deps, g.catalog, field));
        columns.set(field, c);
      }
    }
    if (inRule(g) && inColumn(g)) counties.set(g.county, (counties.get(g.county) ?? 0) + n);
    if (inRule(g) && inColumn(g) && inCounty(g)) total += n;
  }
  const out: Facets = {
    total,
    rules: await Promise.all(
      [...rules].map(async ([code, count]) => ({
        code,
        count,
        zh: ruleLabel(code) ?? (await sampleMessage(knex, code)) ?? code,
      })),
    ),
    columns: [...columns].map(([field, c]) => ({ field, title: [...c.titles].join(' / '), count: c.count })),
    counties: [...counties].map(([county, count]) => ({ county, name: countyName(deps, county), count })),
  };
  const byCount = <T extends { count: number }>(a: T, b: T) => b.count - a.count;
  out.rules.sort((a, b) => byCount(a, b) || a.code.localeCompare(b.code));
  out.columns.sort((a, b) => byCount(a, b) || a.field.localeCompare(b.field));
  out.counties.sort((a, b) => byCount(a, b) || String(a.county).localeCompare(String(b.county)));
  return out;
}

/** One rejection with its history (oldest first); 404 when it does not exist or is not the user's county's. */
export async function getRejectionView(
  deps: ReviewDeps,
  user: User,
  id: number,
): Promise<RejectionView & { history: AuditRecord[] }> {
  const s = await loadRejection(deps.warehouse.knex, id);
  assertVisible(user, s?.county ?? null, '退回记录', id);
  const stored = s as StoredRejection;
  const catalog = deps.catalogs.get(stored.catalog);
  const layout = rowLayout(catalog, await storedColumns(deps.warehouse.knex, stored), stored.cells);
  const view = toView(stored, catalog, layout);
  const history = (await listAudit(deps.warehouse.knex, { entity: 'rejection', entityId: id })).map((a) => ({
    ...a,
    oldValue: maskAuditValue(a.oldValue, layout),
    newValue: maskAuditValue(a.newValue, layout),
  }));
  return { ...view, history };
}

/** A rejection as stored (original cells), or undefined. */
export async function loadRejection(knex: Knex, id: number): Promise<StoredRejection | undefined> {
  if (!Number.isSafeInteger(id) || id <= 0) return undefined;
  const r = (await knex.raw(`SELECT ${COLS} FROM rejections WHERE id = ?`, [id])).rows[0] as
    | Record<string, unknown>
    | undefined;
  return r ? toStored(r) : undefined;
}

/** The batch whose columns the row's cells were stored under: the one that last wrote them. */
const layoutBatch = (s: StoredRejection) => s.lastBatchId ?? s.batchId;

/** What that batch stored about its columns (headers in file order, bindings), if anything. */
export async function storedColumns(knex: Knex, s: StoredRejection): Promise<StoredColumns | undefined> {
  return (await columnsOf(knex, [layoutBatch(s)])).get(layoutBatch(s));
}

async function columnsOf(knex: Knex, ids: readonly string[]): Promise<Map<string, StoredColumns>> {
  const out = new Map<string, StoredColumns>();
  if (ids.length === 0) return out;
  const rows = (await knex('batches')
    .select('id', knex.raw("context -> 'headers' AS headers"), knex.raw("context -> 'columns' AS columns"))
    .whereIn('id', [...new Set(ids)])) as Array<{ id: string; headers: unknown; columns: unknown }>;
  const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  for (const r of rows) {
    const headers = parse(r.headers);
    const columns = parse(r.columns);
    if (Array.isArray(headers)) {
      out.set(r.id, { headers: headers.map(String), columns: Array.isArray(columns) ? columns : [] });
    }
  }
  return out;
}

async function views(deps: ReviewDeps, stored: readonly StoredRejection[]): Promise<RejectionView[]> {
  const columns = await columnsOf(deps.warehouse.knex, stored.map(layoutBatch));
  return stored.map((s) => {
    const catalog = deps.catalogs.get(s.catalog);
    return toView(s, catalog, rowLayout(catalog, columns.get(layoutBatch(s)), s.cells));
  });
}

/** An audited value (cells changed, or a status) masked like the row's cells. */
function maskAuditValue(v: unknown, layout: readonly LayoutColumn[]): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const cells = structuredClone(v) as Record<string, never>;
  maskRejectionContent({ cells, values: {}, issues: [] }, new Set());
  maskCells(cells, personalKeys(layout));
  return cells;
}

function fieldTitle(deps: ReviewDeps, catalogId: string | null, field: string): string {
  const catalog = deps.catalogs.list.find((c) => c.id === catalogId);
  return catalog?.byName.get(field)?.title ?? field;
}

function countyName(deps: ReviewDeps, code: string | null): string {
  if (code === null) return '（未知区县）';
  return deps.reference.divisions.get(code) ?? deps.config.counties[code]?.name ?? code;
}

async function sampleMessage(knex: Knex, code: string): Promise<string | undefined> {
  const r = (
    await knex.raw(
      `SELECT i ->> 'zh' AS zh FROM rejections, jsonb_array_elements(issues) AS i
       WHERE error_codes @> ARRAY[?]::text[] AND i ->> 'code' = ? LIMIT 1`,
      [code, code],
    )
  ).rows[0] as { zh?: string } | undefined;
  if (!r?.zh) return undefined;
  const issue = { code, severity: 'error' as const, zh: r.zh, en: '' };
  return maskRejectionContent({ cells: {}, values: {}, issues: [issue] }, new Set()).issues[0]?.zh;
}

/**
 * Rows of an upload still waiting for its clerk's commit are not fixed or discarded yet: cancelling
 * the upload (or its expiry) deletes them, which would orphan a fix batch already loaded from one.
 */
export async function assertBatchesSettled(knex: Knex, rows: readonly StoredRejection[]): Promise<void> {
  const ids = [...new Set(rows.map((r) => r.batchId))];
  if (ids.length === 0) return;
  const res = await knex.raw(`SELECT id FROM batches WHERE id = ANY(?::text[]) AND status = 'staged' LIMIT 1`, [ids]);
  const staged = (res.rows as Array<{ id: string }>)[0]?.id;
  if (staged !== undefined) {
    throw conflict(
      'UPLOAD_NOT_COMMITTED',
      `批次 ${staged} 是尚未确认入库的上传：请先确认入库（或取消后改好文件重新上传），再处理其中的退回行。`,
      `batch ${staged} is a staged upload: commit or cancel it first`,
      { batchId: staged },
    );
  }
}
