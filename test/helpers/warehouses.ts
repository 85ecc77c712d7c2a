import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { migrateLatest } from '../../src/warehouse/migrate.js';
import { openWarehouse, type Warehouse } from '../../src/warehouse/open.js';

/** The PostgreSQL the integration tests use (trust auth on the dev machine and in CI). */
export const TEST_DATABASE_URL =
  process.env.GUIJI_TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function probePostgres(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

const pgProblem = await probePostgres();
if (pgProblem !== undefined) {
  if (process.env.CI === 'true') {
    // In CI an unreachable PostgreSQL is a failure, never a skip.
    throw new Error(`PostgreSQL at ${TEST_DATABASE_URL} is not reachable (CI=true): ${pgProblem}`);
  }
  console.warn(
    `\n⚠ PostgreSQL at ${TEST_DATABASE_URL} is not reachable (${pgProblem}): PostgreSQL tests are SKIPPED.\n`,
  );
}

export type WarehouseKind = Warehouse['kind'];
export const WAREHOUSE_KINDS: readonly WarehouseKind[] = ['pglite', 'postgres'];

/** A migrated warehouse of its own: PGlite in a fresh temp GUIJI_HOME, or PostgreSQL in a fresh schema. */
export interface TestWarehouse {
  wh: Warehouse;
  /** The GUIJI_HOME used (PGlite) — also created for PostgreSQL, for files a test may want to write. */
  home: string;
  /** Closes the warehouse and removes everything it created (schema or home). */
  dispose(): Promise<void>;
}

export async function openTestWarehouse(
  kind: WarehouseKind,
  label: string,
  opts: { migrate?: boolean } = {},
): Promise<TestWarehouse> {
  const home = mkdtempSync(path.join(tmpdir(), 'guiji-test-'));
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  const schema = `t_${slug}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const wh =
    kind === 'postgres'
      ? await openWarehouse({ databaseUrl: TEST_DATABASE_URL, home, schema })
      : await openWarehouse({ home });
  if (opts.migrate !== false) await migrateLatest(wh, migrations);
  return {
    wh,
    home,
    async dispose() {
      await wh.close();
      if (kind === 'postgres') {
        const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await c.end();
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `fn` once per backend, each in a `describe` of its own. PostgreSQL is skipped (with a warning)
 * only when it is unreachable outside CI.
 */
export function describeEachWarehouse(name: string, fn: (kind: WarehouseKind) => void): void {
  for (const kind of WAREHOUSE_KINDS) {
    const skip = kind === 'postgres' && pgProblem !== undefined;
    describe.skipIf(skip)(`${name} [${kind}]`, () => fn(kind));
  }
}
