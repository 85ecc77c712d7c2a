import type { Knex } from 'knex';

// The insert lives in src/warehouse/audit.ts: pipelines/ write audit rows too and may not import review/.
export { type AuditEntry, writeAudit } from '../src/warehouse/audit.js';

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
