import type { Knex } from 'knex';
import type { Warehouse } from './open.js';

/** One numbered migration (see migrations/index.ts). */
export interface WarehouseMigration {
  /** e.g. `001_ledger`: the name knex records in knex_migrations. */
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Applies the migrations not yet applied, in list order. The list is passed in (migrations/ sits above
 * src/ in the layering), and is an explicit list of imported modules rather than a directory scan, so
 * the same code runs under vitest (TypeScript) and from dist (JavaScript).
 */
export async function migrateLatest(
  wh: Warehouse,
  migrations: readonly WarehouseMigration[],
): Promise<{ applied: string[] }> {
  const source: Knex.MigrationSource<WarehouseMigration> = {
    getMigrations: async () => [...migrations],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => ({ up: m.up, down: m.down }),
  };
  const [, log] = (await wh.knex.migrate.latest({ migrationSource: source })) as [number, string[]];
  return { applied: log };
}

/** Names of the migrations already applied, oldest first. */
export async function appliedMigrations(wh: Warehouse): Promise<string[]> {
  if (!(await wh.knex.schema.hasTable('knex_migrations'))) return [];
  const rows = await wh.knex('knex_migrations').select('name').orderBy('id');
  return rows.map((r: { name: string }) => r.name);
}
