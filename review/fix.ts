/**
 * Fixing rejected rows from the review page. The edited row goes through the real stages first; a row
 * still invalid stays open with its new reasons; a valid one is claimed (open → fixed, guarded by its
 * version) and loaded as a batch of its own (kind 'fix') by the ingest code, all in ONE transaction:
 * two stewards fixing the same row, or the same fix sent twice, load it once (the second waits for the
 * first's row lock, then finds it no longer open → 409). The original batch's counts never change.
 */
import type { Knex } from 'knex';
import { ingestRecords } from '../pipelines/ingest.js';
import type { Catalog } from '../src/catalog/types.js';
import { internalError } from '../src/errors.js';
import { hasError } from '../src/pipeline.js';
import type { BatchSummary, CellValue, Issue, Row } from '../src/types.js';
import { type AuditEntry, writeAudit } from '../src/warehouse/audit.js';
import type { Warehouse } from '../src/warehouse/open.js';
import { changedCells } from '../src/warehouse/rejection-links.js';
import { errorArray } from '../src/warehouse/rejections.js';
import { assertVisible, countyScope } from './access.js';
import { actingUser } from './actor.js';
import type { ReviewDeps } from './deps.js';
import { badRequest, conflict, notFound, type ReviewError } from './errors.js';
import { applyEdits, checkRows, type Edits, editColumns, type FixTarget } from './fix-rows.js';
import { type LayoutColumn, rowLayout } from './layout.js';
import { assertBatchesSettled, loadRejection, storedColumns } from './rejections.js';
import type { Actor, User } from './types.js';
import {
  maskedContent,
  REJECTION_COLUMNS,
  type RejectionView,
  type StoredRejection,
  toStored,
  toView,
} from './view.js';

/** Most rows one fix-many may touch (one transaction, one batch). */
export const FIX_MANY_LIMIT = 10_000;

export interface FixInput {
  /** The version the clerk edited (RejectionView.version). */
  version: number;
  edits: Edits;
}

export type FixResult =
  | { status: 'fixed'; rejection: RejectionView; batch: BatchSummary }
  | { status: 'still-invalid'; rejection: RejectionView };

export interface FixManyInput {
  batch?: string;
  ids?: number[];
  /** The rows of `batch` whose cell under `header` shows `value`. */
  match?: { header: string; value: string };
  edits: Edits;
}

export interface FixManyResult {
  fixed: number;
  stillOpen: number;
  /** Rows another change got to first (no longer open, or a newer version): left as they were. */
  conflicts: number;
  batch: BatchSummary | null;
  /** The first 50 rows still invalid, with their new issues (masked). */
  failures: Array<{ id: number; issues: Issue[] }>;
}

/** One row's fix, prepared outside the transaction (the stages are pure). */
interface Prepared {
  stored: StoredRejection;
  cells: Record<string, CellValue>;
  row: Row;
}

/** Fixes one rejected row: 'fixed' with the fix batch, or 'still-invalid' with the new issues. */
export async function fixRejection(deps: ReviewDeps, actor: Actor, id: number, input: FixInput): Promise<FixResult> {
  const user = actingUser(actor);
  const stored = await loadRejection(deps.warehouse.knex, id);
  assertVisible(user, stored?.county ?? null, '退回记录', id);
  const s = stored as StoredRejection;
  assertOpen(s, input.version);
  await assertBatchesSettled(deps.warehouse.knex, [s]);
  const ctx = await fixContext(deps, [s], input.edits);
  const [p] = ctx.prepare([s]);
  const prepared = p as Prepared;

  if (hasError(prepared.row)) {
    const updated = await deps.warehouse.knex.transaction(
      async (trx) => (await settle(trx, actor, [prepared], true)).stillOpen[0] as StoredRejection,
    );
    return { status: 'still-invalid', rejection: toView(updated, ctx.catalog, ctx.layoutOf(updated)) };
  }
  const summary = await deps.warehouse.knex.transaction(async (trx) => {
    const { claimed } = await settle(trx, actor, [prepared], true);
    return loadFixBatch(deps, trx, actor, ctx, claimed);
  });
  const after = (await loadRejection(deps.warehouse.knex, id)) as StoredRejection;
  return { status: 'fixed', rejection: toView(after, ctx.catalog, ctx.layoutOf(after)), batch: summary };
}

/**
 * Applies the same edits to many rows of one batch (chosen by id, or by the value one of their cells
 * shows) and loads every row that now passes as ONE fix batch. Rows still invalid stay open with their
 * new issues; rows changed meanwhile by someone else are left alone (counted as conflicts).
 */
export async function fixMany(deps: ReviewDeps, actor: Actor, input: FixManyInput): Promise<FixManyResult> {
  const user = actingUser(actor);
  const targets = await findTargets(deps, user, input);
  await assertBatchesSettled(deps.warehouse.knex, targets);
  const open = targets.filter((t) => t.status === 'open');
  const empty: FixManyResult = { fixed: 0, stillOpen: 0, conflicts: targets.length, batch: null, failures: [] };
  if (open.length === 0) return empty;
  const ctx = await fixContext(deps, open, input.edits);
  const prepared = ctx.prepare(open);

  const result = await deps.warehouse.knex.transaction(async (trx) => {
    const { stillOpen, claimed } = await settle(trx, actor, prepared, false);
    const batch = claimed.length > 0 ? await loadFixBatch(deps, trx, actor, ctx, claimed) : null;
    return { stillOpen, claimed, batch };
  });
  const failures = result.stillOpen.slice(0, 50).map((s) => ({
    id: s.id,
    issues: maskedContent(s, ctx.catalog, ctx.layoutOf(s)).issues,
  }));
  return {
    fixed: result.claimed.length,
    stillOpen: result.stillOpen.length,
    conflicts: targets.length - result.claimed.length - result.stillOpen.length,
    batch: result.batch,
    failures,
  };
}

function assertOpen(s: StoredRejection, version: number | undefined): void {
  if (s.status !== 'open') throw alreadyResolved(s);
  if (version !== undefined && s.version !== version) throw versionConflict(s);
}

const alreadyResolved = (s: Pick<StoredRejection, 'id' | 'status'>) =>
  conflict(
    'ALREADY_RESOLVED',
    `退回记录 ${s.id} 已经${s.status === 'fixed' ? '修正入库' : '作废'}，无需再处理。`,
    `rejection ${s.id} is already ${s.status}`,
    { id: s.id, status: s.status },
  );

const versionConflict = (s: Pick<StoredRejection, 'id' | 'version'>) =>
  conflict(
    'VERSION_CONFLICT',
    `退回记录 ${s.id} 已被他人修改，请刷新后再改。`,
    `rejection ${s.id} changed meanwhile (now version ${s.version})`,
    { id: s.id, version: s.version },
  );

/** What every row of one fix shares: catalog, county, file, the columns it is read with. */
interface FixContext {
  catalog: Catalog;
  target: FixTarget;
  columns: LayoutColumn[];
  layoutOf(s: StoredRejection): LayoutColumn[];
  prepare(rows: readonly StoredRejection[]): Prepared[];
}

async function fixContext(deps: ReviewDeps, rows: readonly StoredRejection[], edits: Edits): Promise<FixContext> {
  const first = rows[0] as StoredRejection;
  const layoutBatch = first.lastBatchId ?? first.batchId;
  if (rows.some((r) => r.batchId !== first.batchId || (r.lastBatchId ?? r.batchId) !== layoutBatch)) {
    throw badRequest(
      'MIXED_BATCHES',
      '一次批量修正只能针对同一批次（同一文件格式）的退回行，请按批次分别提交。',
      'fix-many rows come from more than one batch layout',
    );
  }
  if (first.county === null)
    throw badRequest('COUNTY_UNKNOWN', '该退回记录没有所属区县，无法修正。', 'rejection has no county');
  const catalog = deps.catalogs.get(first.catalog);
  const stored = await storedColumns(deps.warehouse.knex, first);
  // One column list for all rows: a ragged row's extra cells become columns of their own.
  const allKeys: Record<string, CellValue> = {};
  for (const r of rows) for (const k of Object.keys(r.cells)) allKeys[k] = null;
  const columns = editColumns(catalog, rowLayout(catalog, stored, allKeys), edits);
  const target: FixTarget = { catalog, county: first.county, file: first.file, sheet: first.sheet };
  const layoutOf = (s: StoredRejection) => rowLayout(catalog, stored, s.cells);
  return {
    catalog,
    target,
    columns,
    layoutOf,
    prepare(list) {
      const edited = list.map((s) => ({
        stored: s,
        cells: applyEdits(s.cells, maskedContent(s, catalog, layoutOf(s)).cells, edits),
      }));
      const checked = checkRows(
        deps,
        target,
        columns,
        edited.map((e) => ({ rowNumber: e.stored.rowNumber, cells: e.cells })),
      );
      const byRow = new Map(checked.rows.map((r) => [r.prov.rowNumber, r]));
      return edited.map((e) => {
        const row = byRow.get(e.stored.rowNumber);
        if (!row)
          throw internalError('FIX_ROW_LOST', '修正校验时丢失了一行。', `row ${e.stored.rowNumber} lost in the stages`);
        return { ...e, row };
      });
    },
  };
}

/** What one transaction did to the rows of a fix: kept open with new issues, or claimed as fixed. */
interface Settled {
  stillOpen: StoredRejection[];
  claimed: Prepared[];
}

/**
 * Writes each row's outcome, in id order (row locks always taken in the same order, so two fixes over
 * overlapping rows cannot deadlock), each only if the row is still open at the version that was checked:
 * - still invalid: keeps the edited cells and takes the new issues (version + 1), audited 'fix-failed';
 * - valid: claimed, open → fixed (version + 1), its cells the ones loaded; audited with the load.
 * With `strict`, a row changed meanwhile is a 409; otherwise it is left alone.
 */
async function settle(
  trx: Knex.Transaction,
  actor: Actor,
  rows: readonly Prepared[],
  strict: boolean,
): Promise<Settled> {
  const out: Settled = { stillOpen: [], claimed: [] };
  const audit: AuditEntry[] = [];
  for (const p of [...rows].sort((a, b) => a.stored.id - b.stored.id)) {
    const invalid = hasError(p.row);
    const res = invalid
      ? await trx.raw(
          `UPDATE rejections SET cells = ?::jsonb, values = ?::jsonb, issues = ?::jsonb, error_codes = ?::text[],
             error_fields = ?::text[], version = version + 1
           WHERE id = ? AND status = 'open' AND version = ?
           RETURNING ${REJECTION_COLUMNS.join(', ')}`,
          [
            JSON.stringify(p.cells),
            JSON.stringify(p.row.values),
            JSON.stringify(p.row.issues),
            errorArray(p.row.issues, 'code'),
            errorArray(p.row.issues, 'field'),
            p.stored.id,
            p.stored.version,
          ],
        )
      : await trx.raw(
          `UPDATE rejections SET status = 'fixed', cells = ?::jsonb, resolved_by = ?, resolved_at = now(),
             version = version + 1
           WHERE id = ? AND status = 'open' AND version = ?
           RETURNING ${REJECTION_COLUMNS.join(', ')}`,
          [JSON.stringify(p.cells), actor.name, p.stored.id, p.stored.version],
        );
    const r = (res.rows as Record<string, unknown>[])[0];
    if (!r) {
      if (strict) throw await lostRace(trx, p.stored.id);
      continue;
    }
    if (!invalid) {
      out.claimed.push(p);
      continue;
    }
    const s = toStored(r);
    out.stillOpen.push(s);
    const diff = changedCells(p.stored.cells, p.cells);
    audit.push({
      actor,
      action: 'fix-failed',
      entity: 'rejection',
      entityId: s.id,
      county: s.county,
      oldValue: diff.old,
      newValue: diff.new,
      detail: {
        batchId: s.batchId,
        rowNumber: s.rowNumber,
        version: s.version,
        errorCodes: errorArray(p.row.issues, 'code'),
      },
    });
  }
  await writeAudit(trx, audit);
  return out;
}

/** The 409 for a row that changed between reading and claiming it. */
async function lostRace(trx: Knex.Transaction, id: number): Promise<ReviewError> {
  const now = await loadRejection(trx, id);
  if (!now) return notFound('退回记录', id);
  return now.status !== 'open' ? alreadyResolved(now) : versionConflict(now);
}

/**
 * Loads the claimed rows as one batch (kind 'fix', file '复核修正：<original file>') through the ingest
 * code, inside the claim's transaction: if anything fails, the claim rolls back with it.
 */
async function loadFixBatch(
  deps: ReviewDeps,
  trx: Knex.Transaction,
  actor: Actor,
  ctx: FixContext,
  claimed: readonly Prepared[],
): Promise<BatchSummary> {
  const warehouse: Warehouse = { ...deps.warehouse, knex: trx };
  const checked = claimed.map((p) => ({
    rowNumber: p.stored.rowNumber,
    cells: ctx.columns.map((c) => p.cells[c.key] ?? null),
  }));
  const summary = await ingestRecords(
    {
      config: deps.config,
      warehouse,
      catalogs: deps.catalogs,
      reference: deps.reference,
      clock: deps.clock,
      logger: deps.logger,
    },
    {
      file: `复核修正：${ctx.target.file}`,
      sheet: ctx.target.sheet ?? undefined,
      catalog: ctx.catalog,
      headers: ctx.columns.map((c) => c.header),
      records: checked,
    },
    { county: ctx.target.county, kind: 'fix', createdBy: actor.name },
  );
  const batchId = summary.batchId as string;
  if (summary.rejected > 0) {
    // The same stages passed these rows a moment ago: a rejection here is a bug, never a clerk's error.
    throw internalError(
      'FIX_REJECTED_ON_LOAD',
      '修正后的数据在入库时未通过校验，已全部撤回，请联系管理员。',
      `fix batch ${batchId}: ${summary.rejected} rows rejected on load though they passed the check`,
    );
  }
  const ids = claimed.map((p) => p.stored.id);
  await trx('rejections').whereIn('id', ids).update({ fix_batch_id: batchId });
  await trx.raw(
    `INSERT INTO rejection_links (batch_id, row_number, rejection_id)
     SELECT ?, x.row_number, x.rejection_id FROM unnest(?::integer[], ?::bigint[]) AS x (row_number, rejection_id)
     ON CONFLICT (batch_id, row_number) DO NOTHING`,
    [batchId, claimed.map((p) => p.stored.rowNumber), ids],
  );
  await writeAudit(
    trx,
    claimed.map((p) => {
      const diff = changedCells(p.stored.cells, p.cells);
      return {
        actor,
        action: 'fix',
        entity: 'rejection' as const,
        entityId: p.stored.id,
        county: p.stored.county,
        oldValue: diff.old,
        newValue: diff.new,
        detail: {
          batchId,
          originalBatchId: p.stored.batchId,
          rowNumber: p.stored.rowNumber,
          version: p.stored.version + 1,
          status: 'fixed',
        },
      };
    }),
  );
  return summary;
}

/** The rows a fix-many names, all visible to the user (a clerk naming another county's row gets 404). */
async function findTargets(deps: ReviewDeps, user: User, input: FixManyInput): Promise<StoredRejection[]> {
  const knex = deps.warehouse.knex;
  const cols = REJECTION_COLUMNS.join(', ');
  let rows: StoredRejection[];
  if (input.ids && input.ids.length > 0) {
    if (input.ids.length > FIX_MANY_LIMIT) throw tooMany();
    const ids = [...new Set(input.ids)];
    const res = await knex.raw(`SELECT ${cols} FROM rejections WHERE id = ANY(?::bigint[]) ORDER BY id`, [ids]);
    rows = (res.rows as Record<string, unknown>[]).map(toStored);
    const found = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) assertVisible(user, found.get(id)?.county ?? null, '退回记录', id);
    if (input.batch !== undefined && rows.some((r) => r.batchId !== input.batch)) {
      throw badRequest('NOT_IN_BATCH', '所选的退回行不都属于这个批次。', 'ids outside the given batch');
    }
  } else if (input.match) {
    if (input.batch === undefined) {
      throw badRequest('BATCH_REQUIRED', '按单元格值批量修正时必须指定批次。', 'match needs a batch');
    }
    rows = await matchingRows(deps, user, input.batch, input.match);
  } else {
    throw badRequest(
      'NOTHING_SELECTED',
      '请选择要修正的行（ids），或给出要匹配的列和值（match）。',
      'neither ids nor match given',
    );
  }
  return rows;
}

const tooMany = () =>
  badRequest(
    'TOO_MANY_ROWS',
    `一次最多修正 ${FIX_MANY_LIMIT} 行，请缩小范围（例如按规则或列筛选）后分次提交。`,
    `more than ${FIX_MANY_LIMIT} rows in one fix-many`,
  );

/**
 * Open rows of a batch whose cell under `header` shows `value`: the stored value, or what the page
 * showed (an ID number masked), so "all 37 rows with this wrong value" works on what the clerk sees.
 */
async function matchingRows(
  deps: ReviewDeps,
  user: User,
  batchId: string,
  match: { header: string; value: string },
): Promise<StoredRejection[]> {
  const knex = deps.warehouse.knex;
  const batch = (await knex('batches').select('county').where('id', batchId).first()) as
    | { county: string | null }
    | undefined;
  assertVisible(user, batch?.county ?? null, '批次', batchId);
  const scope = countyScope(user);
  const cols = REJECTION_COLUMNS.join(', ');
  const masked = match.value.includes('*');
  // A masked value can only be compared after masking: read the batch's open rows that have the cell.
  // An empty value matches empty cells, stored as '' or null.
  const cond = masked ? '(cells ->> ?) IS NOT NULL' : "coalesce(cells ->> ?, '') = ?";
  const res = await knex.raw(
    `SELECT ${cols} FROM rejections
     WHERE batch_id = ? AND status = 'open' AND ${cond}
       ${scope !== null ? 'AND county = ?' : ''}
     ORDER BY id LIMIT ?`,
    [batchId, match.header, ...(masked ? [] : [match.value]), ...(scope !== null ? [scope] : []), FIX_MANY_LIMIT + 1],
  );
  let rows = (res.rows as Record<string, unknown>[]).map(toStored);
  if (masked) {
    const catalog = rows[0] ? deps.catalogs.get(rows[0].catalog) : undefined;
    const stored = rows[0] ? await storedColumns(knex, rows[0]) : undefined;
    rows = rows.filter((s) => {
      const shown = maskedContent(s, catalog, catalog ? rowLayout(catalog, stored, s.cells) : []).cells[match.header];
      return String(shown ?? '') === match.value;
    });
  }
  if (rows.length > FIX_MANY_LIMIT) throw tooMany();
  return rows;
}
