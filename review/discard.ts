/**
 * Discarding rejected rows: a steward's (or admin's) decision that a row will never be loaded, with a
 * mandatory reason. Clerks cannot discard. The original batch's counts stay as they were.
 */
import type { Knex } from 'knex';
import { type AuditEntry, writeAudit } from '../src/warehouse/audit.js';
import { assertSteward, assertVisible } from './access.js';
import { actingUser } from './actor.js';
import type { ReviewDeps } from './deps.js';
import { badRequest, conflict } from './errors.js';
import { rowLayout } from './layout.js';
import { assertBatchesSettled, loadRejection, storedColumns } from './rejections.js';
import type { Actor } from './types.js';
import { REJECTION_COLUMNS, type RejectionView, type StoredRejection, toStored, toView } from './view.js';

export interface DiscardInput {
  reason: string;
  /** When given, the discard applies only to this version (the one the steward looked at). */
  version?: number;
}

function checkReason(reason: unknown): string {
  const text = typeof reason === 'string' ? reason.trim() : '';
  if (text === '') {
    throw badRequest('REASON_REQUIRED', '作废必须填写原因。', 'a discard needs a non-empty reason');
  }
  return text;
}

/** open → discarded, with who, when and why; 409 when it is no longer open (or changed meanwhile). */
export async function discardRejection(
  deps: ReviewDeps,
  actor: Actor,
  id: number,
  input: DiscardInput,
): Promise<RejectionView> {
  const user = actingUser(actor);
  assertSteward(user);
  const reason = checkReason(input.reason);
  const before = await loadRejection(deps.warehouse.knex, id);
  assertVisible(user, before?.county ?? null, '退回记录', id);
  const s = before as StoredRejection;
  await assertBatchesSettled(deps.warehouse.knex, [s]);
  const after = await deps.warehouse.knex.transaction(async (trx) => {
    const [done] = await discardRows(trx, actor, [s], reason, input.version);
    if (!done) throw await notOpen(trx, id, input.version);
    return done;
  });
  const catalog = deps.catalogs.get(after.catalog);
  return toView(after, catalog, rowLayout(catalog, await storedColumns(deps.warehouse.knex, after), after.cells));
}

/** Discards many open rows with one reason; rows not open (or not visible) are left and counted. */
export async function discardMany(
  deps: ReviewDeps,
  actor: Actor,
  ids: readonly number[],
  reasonText: string,
): Promise<{ discarded: number; skipped: number }> {
  const user = actingUser(actor);
  assertSteward(user);
  const reason = checkReason(reasonText);
  const unique = [...new Set(ids)];
  const res = await deps.warehouse.knex.raw(
    `SELECT ${REJECTION_COLUMNS.join(', ')} FROM rejections WHERE id = ANY(?::bigint[]) ORDER BY id`,
    [unique],
  );
  const rows = (res.rows as Record<string, unknown>[]).map(toStored);
  const found = new Map(rows.map((r) => [r.id, r]));
  for (const id of unique) assertVisible(user, found.get(id)?.county ?? null, '退回记录', id);
  await assertBatchesSettled(deps.warehouse.knex, rows);
  const done = await deps.warehouse.knex.transaction((trx) => discardRows(trx, actor, rows, reason));
  return { discarded: done.length, skipped: unique.length - done.length };
}

async function discardRows(
  trx: Knex.Transaction,
  actor: Actor,
  rows: readonly StoredRejection[],
  reason: string,
  version?: number,
): Promise<StoredRejection[]> {
  const out: StoredRejection[] = [];
  const audit: AuditEntry[] = [];
  for (const s of rows) {
    const res = await trx.raw(
      `UPDATE rejections SET status = 'discarded', reason = ?, resolved_by = ?, resolved_at = now(),
         version = version + 1
       WHERE id = ? AND status = 'open' ${version !== undefined ? 'AND version = ?' : ''}
       RETURNING ${REJECTION_COLUMNS.join(', ')}`,
      [reason, actor.name, s.id, ...(version !== undefined ? [version] : [])],
    );
    const r = (res.rows as Record<string, unknown>[])[0];
    if (!r) continue;
    const after = toStored(r);
    out.push(after);
    audit.push({
      actor,
      action: 'discard',
      entity: 'rejection',
      entityId: after.id,
      county: after.county,
      oldValue: { status: 'open' },
      newValue: { status: 'discarded', reason },
      detail: { batchId: after.batchId, rowNumber: after.rowNumber, version: after.version },
    });
  }
  await writeAudit(trx, audit);
  return out;
}

async function notOpen(knex: Knex, id: number, version: number | undefined) {
  const now = await loadRejection(knex, id);
  if (now && now.status === 'open' && version !== undefined && now.version !== version) {
    return conflict(
      'VERSION_CONFLICT',
      `退回记录 ${id} 已被他人修改，请刷新后再操作。`,
      `rejection ${id} changed meanwhile`,
      {
        id,
        version: now.version,
      },
    );
  }
  return conflict(
    'ALREADY_RESOLVED',
    `退回记录 ${id} 已经${now?.status === 'fixed' ? '修正入库' : '作废'}，不能再作废。`,
    `rejection ${id} is already ${now?.status}`,
    { id, status: now?.status },
  );
}
