import type { Knex } from 'knex';
import type { Actor } from './types.js';

/** One change, as the audit log keeps it: who, when (set by the database), what, old and new value. */
export interface AuditEntry {
  actor: Actor | string;
  action: string;
  entity: 'rejection' | 'batch' | 'user' | 'token' | 'session' | 'upload';
  entityId?: string | number | null;
  county?: string | null;
  oldValue?: unknown;
  newValue?: unknown;
  detail?: unknown;
}

export interface AuditRecord {
  id: number;
  at: Date;
  actor: string;
  action: string;
  entity: string;
  entityId: string | null;
  county: string | null;
  oldValue: unknown;
  newValue: unknown;
  detail: unknown;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

/**
 * Writes audit entries. Pass the transaction that makes the change, so the change and its record
 * commit (or roll back) together.
 */
export async function writeAudit(db: Knex | Knex.Transaction, entries: AuditEntry | readonly AuditEntry[]): Promise<void> {
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

/** The history of one entity, oldest first. */
export async function listAudit(
  db: Knex,
  filter: { entity?: string; entityId?: string | number; limit?: number; offset?: number } = {},
): Promise<AuditRecord[]> {
  let q = db('audit_log')
    .select('*')
    .orderBy([{ column: 'at' }, { column: 'id' }])
    .limit(filter.limit ?? 200)
    .offset(filter.offset ?? 0);
  if (filter.entity !== undefined) q = q.where('entity', filter.entity);
  if (filter.entityId !== undefined) q = q.where('entity_id', String(filter.entityId));
  const rows = (await q) as Record<string, unknown>[];
  const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  return rows.map((r) => ({
    id: Number(r.id),
    at: new Date(r.at as string | Date),
    actor: r.actor as string,
    action: r.action as string,
    entity: r.entity as string,
    entityId: (r.entity_id as string | null) ?? null,
    county: (r.county as string | null) ?? null,
    oldValue: parse(r.old_value),
    newValue: parse(r.new_value),
    detail: parse(r.detail),
  }));
}
