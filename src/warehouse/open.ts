import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type pg from 'pg';
import type { Logger } from '../types.js';
import { ident } from './ident.js';
import { acquireHomeLock, type HomeLock } from './lock.js';

/** An open warehouse: PostgreSQL (DATABASE_URL) or the embedded PGlite in `$GUIJI_HOME/pgdata`. */
export interface Warehouse {
  readonly kind: 'postgres' | 'pglite';
  readonly knex: Knex;
  /** The schema every connection uses (search_path), when one was asked for. */
  readonly schema?: string;
  /** Closes the pool (and PGlite), then releases the home lock. Safe to call twice. */
  close(): Promise<void>;
}

export interface OpenWarehouseOptions {
  /** PostgreSQL connection string; absent → embedded PGlite. */
  databaseUrl?: string;
  /** `$GUIJI_HOME`: the embedded data lives in `<home>/pgdata`, locked by `<home>/guiji.lock`. */
  home: string;
  logger?: Logger;
  /** Work in this schema (created if absent): how integration tests isolate themselves on one server. */
  schema?: string;
  /** PostgreSQL pool size (default 4). */
  poolMax?: number;
}

export async function openWarehouse(opts: OpenWarehouseOptions): Promise<Warehouse> {
  if (opts.schema !== undefined) ident(opts.schema);
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openPglite(opts);
}

async function openPostgres(url: string, opts: OpenWarehouseOptions): Promise<Warehouse> {
  const schema = opts.schema;
  const knex = knexFactory({
    client: 'pg',
    connection: url,
    pool: {
      min: 0,
      max: opts.poolMax ?? 4,
      // Every pooled connection works in the schema: set it where the connection is born.
      afterCreate: (conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) => {
        if (schema === undefined) return done(null, conn);
        const q = ident(schema);
        conn.query(`CREATE SCHEMA IF NOT EXISTS ${q}; SET search_path TO ${q}`, (err: Error | null) => done(err, conn));
      },
    },
  });
  try {
    await knex.raw('select 1');
  } catch (e) {
    await knex.destroy();
    throw e;
  }
  opts.logger?.debug({ schema }, 'warehouse: postgres');
  let closed = false;
  return {
    kind: 'postgres',
    knex,
    ...(schema !== undefined ? { schema } : {}),
    async close() {
      if (closed) return;
      closed = true;
      await knex.destroy();
    },
  };
}

/**
 * PGlite's shared buffers live in this process's WebAssembly heap, which never shrinks: its default of
 * 128 MB was most of the embedded warehouse's memory (a 1,000-row file peaked at ~400 MB). With 32 MB the
 * same file peaks ~100 MB lower and a 200k-row CSV ingests no slower (bench/CHOICES.md). Passed at start,
 * so nothing is written into the data folder's configuration.
 */
const PGLITE_SETTINGS = ['-c', 'shared_buffers=32MB'];

async function openPglite(opts: OpenWarehouseOptions): Promise<Warehouse> {
  const lock: HomeLock = acquireHomeLock(opts.home);
  let knex: Knex | undefined;
  try {
    const dataDir = path.join(path.resolve(opts.home), 'pgdata');
    // Loaded here, not at the top: a PostgreSQL run would load them for nothing (~40 ms of start-up).
    const [{ PGlite }, { default: ClientPGLite }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('knex-pglite'),
    ]);
    const db = new PGlite(dataDir, { startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS] });
    await db.waitReady;
    // knex-pglite forces a pool of one connection: the PGlite instance we hand it.
    knex = knexFactory({
      client: ClientPGLite,
      dialect: 'postgres',
      // (knex-pglite's "bring your own instance" form is untyped)
      connection: (() => ({ pglite: db })) as unknown as Knex.StaticConnectionConfig,
    });
    if (opts.schema !== undefined) {
      await knex.raw(`CREATE SCHEMA IF NOT EXISTS ${ident(opts.schema)}`);
      await knex.raw(`SET search_path TO ${ident(opts.schema)}`);
    }
    opts.logger?.debug({ dataDir }, 'warehouse: pglite');
  } catch (e) {
    await knex?.destroy().catch(() => {});
    lock.release();
    throw e;
  }
  const k = knex;
  let closed = false;
  return {
    kind: 'pglite',
    knex: k,
    ...(opts.schema !== undefined ? { schema: opts.schema } : {}),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await k.destroy();
      } finally {
        lock.release();
      }
    },
  };
}
