import { type CatalogSet, loadCatalogs } from './catalog/load.js';
import { type Clock, makeClock } from './clock.js';
import type { GuijiConfig } from './config.js';
import { makeLogger } from './logger.js';
import { type LoadedReference, loadReference } from './reference.js';
import type { Logger } from './types.js';
import { appliedMigrations, migrateLatest, type WarehouseMigration } from './warehouse/migrate.js';
import { openWarehouse, type Warehouse } from './warehouse/open.js';

/** Everything a command or a job needs, acquired once and released once. */
export interface Context {
  config: GuijiConfig;
  db: Warehouse;
  logger: Logger;
  clock: Clock;
  catalogs: CatalogSet;
  reference: LoadedReference;
  release(): Promise<void>;
}

export interface MakeContextOptions {
  logger?: Logger;
  clock?: Clock;
  /** Bring the warehouse schema up to date on open (the embedded default should just work). */
  migrations?: readonly WarehouseMigration[];
}

/** Opens the warehouse (PostgreSQL or embedded PGlite) and loads catalogs and reference data. */
export async function makeContext(config: GuijiConfig, opts: MakeContextOptions = {}): Promise<Context> {
  const logger = opts.logger ?? makeLogger(config.logLevel);
  const clock = opts.clock ?? makeClock(config.timeZone);
  // Opening PGlite compiles its WebAssembly off the main thread: start it, then load catalogs meanwhile.
  const opening = openWarehouse({ databaseUrl: config.databaseUrl, home: config.home, logger });
  opening.catch(() => {}); // awaited below; a failure is reported there
  let catalogs: CatalogSet;
  let reference: LoadedReference;
  try {
    catalogs = loadCatalogs();
    reference = loadReference();
  } catch (e) {
    await opening.then((db) => db.close()).catch(() => {});
    throw e;
  }
  const db = await opening;
  try {
    // knex's migrate.latest takes a lock and inspects the schema; skip it when nothing is pending.
    if (opts.migrations) {
      const applied = new Set(await appliedMigrations(db));
      if (opts.migrations.some((m) => !applied.has(m.name))) await migrateLatest(db, opts.migrations);
    }
  } catch (e) {
    await db.close();
    throw e;
  }
  return { config, db, logger, clock, catalogs, reference, release: () => db.close() };
}
