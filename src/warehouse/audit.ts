import type { Knex } from 'knex';

/**
 * One change, as the audit log keeps it: who, when (set by the database), what, old and new value.
 * Here (not in review/) because the pipelines write audit rows too: a file that resolves rejections.
 */
export interface AuditEntry {
  /** A username (or `file:<name>`, `cli:<os user>`), or an actor object carrying it. */
  actor: { name: string } | string;
  action: string;
  entity: 'rejection' | 'batch' | 'user' | 'token' | 'session' | 'upload';
  entityId?: string | number | null;
  county?: string | null;
  oldValue?: unknown;
  newValue?: unknown;
  detail?: unknown;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

/**
 * Writes audit entries. Pass the transaction that makes the change, so the change and its record
 * commit (or roll back) together.
 */
export async function writeAudit(
  db: Knex | Knex.Transaction,
  entries: AuditEntry | readonly AuditEntry[],
): Promise<void> {
  const list = Array.isArray(entries) ? entries : [entries as AuditEntry];
  if (list.length === 0) return;
  const rows = list.map((e) => ({
    actor: typeof e.actor === 'string' ? e.actor : e.actor.name,
    action: e.action,
    entity: e.entity,
    entity_id: e.entityId == null ? null : String(e.entityId),
    county: e.county ?? null,
    old_value: json(e.oldValue),
    new_value: json(e.newValue),
    detail: json(e.detail),
  }));
  for (let i = 0; i < rows.length; i += 500) await db('audit_log').insert(rows.slice(i, i + 500));
}
