import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { User } from '../../review/types.js';
import { addUser } from '../../review/users.js';
import { loadCatalogs } from '../../src/catalog/load.js';
import { makeClock } from '../../src/clock.js';
import type { Context } from '../../src/context.js';
import { makeLogger } from '../../src/logger.js';
import { loadReference } from '../../src/reference.js';
import type { WebDeps } from '../../web/deps.js';
import { buildServer, type ServerOptions } from '../../web/server.js';
import { FIXTURE_TODAY, fixtureConfig, silent } from './ingest.js';
import { openTestWarehouse, type TestWarehouse, type WarehouseKind } from './warehouses.js';

/** The users every test server has, with their password (the same for all: tests are about roles). */
export const TEST_PASSWORD = 'guiji-测试-password';
export const TEST_USERS = {
  admin: { role: 'admin', county: null, displayName: '系统管理员' },
  steward: { role: 'steward', county: null, displayName: '数据管理员' },
  clerk230184: { role: 'clerk', county: '230184', displayName: '五常市填报员' },
  clerk230102: { role: 'clerk', county: '230102', displayName: '道里区填报员' },
} as const;
export type TestUsername = keyof typeof TEST_USERS;

export interface LoggedIn {
  user: User;
  /** `guiji_session=…`, for a `cookie` request header. */
  cookie: string;
  csrf: string;
  /** Headers for a request as this user: cookie and CSRF token, plus `extra`. */
  headers(extra?: Record<string, string>): Record<string, string>;
}

export interface TestServer {
  /** http://127.0.0.1:<port> (no trailing slash). */
  url: string;
  app: FastifyInstance;
  deps: WebDeps;
  wh: TestWarehouse;
  users: Record<TestUsername, User>;
  /** Logs in through POST /api/login (the real route). */
  login(username: TestUsername | string, password?: string): Promise<LoggedIn>;
  /** Closes the server and disposes of the warehouse. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  label?: string;
  /** Defaults to the fixtures' day, so the fixtures validate as their expectations say. */
  now?: Date;
  uploadLimitBytes?: number;
  /** Defaults to 1000 a minute (tests log in often); pass `{max: 10, timeWindow: '1 minute'}` for the real one. */
  loginRateLimit?: ServerOptions['loginRateLimit'];
}

/**
 * A review server on a fresh test warehouse (PGlite or PostgreSQL) with one user of each role, listening
 * on 127.0.0.1 (a random port). Set GUIJI_TEST_LOG=debug to see its log.
 */
export async function startTestServer(kind: WarehouseKind, opts: TestServerOptions = {}): Promise<TestServer> {
  const wh = await openTestWarehouse(kind, opts.label ?? 'web');
  try {
    const uploadDir = path.join(wh.home, 'uploads');
    mkdirSync(uploadDir, { recursive: true });
    const level = process.env.GUIJI_TEST_LOG;
    const ctx: Context = {
      config: { ...fixtureConfig(), home: wh.home },
      db: wh.wh,
      logger: level ? makeLogger(level) : silent,
      clock: makeClock('Asia/Shanghai', opts.now ?? FIXTURE_TODAY),
      catalogs: loadCatalogs(),
      reference: loadReference(),
      release: async () => {},
    };
    const deps: WebDeps = { ctx, uploadLimitBytes: opts.uploadLimitBytes ?? 50 * 1024 * 1024, uploadDir };
    const users = {} as Record<TestUsername, User>;
    // One after the other: PGlite has a single connection, and argon2 is memory-hungry.
    for (const [username, u] of Object.entries(TEST_USERS)) {
      users[username as TestUsername] = await addUser(
        wh.wh.knex,
        { username, password: TEST_PASSWORD, role: u.role, county: u.county, displayName: u.displayName },
        'test-setup',
      );
    }
    const app = buildServer(deps, { loginRateLimit: opts.loginRateLimit ?? { max: 1000, timeWindow: '1 minute' } });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const url = address.replace(/\/$/, '');

    async function login(username: string, password = TEST_PASSWORD): Promise<LoggedIn> {
      const res = await fetch(`${url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      const body = (await res.json()) as { user: User; csrfToken: string; code?: string };
      if (res.status !== 200) throw new Error(`login ${username} → ${res.status} ${JSON.stringify(body)}`);
      const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('guiji_session='));
      if (!setCookie) throw new Error(`login ${username}: no session cookie`);
      const cookie = setCookie.split(';')[0] as string;
      const csrf = body.csrfToken;
      return {
        user: body.user,
        cookie,
        csrf,
        headers: (extra = {}) => ({ cookie, 'x-csrf-token': csrf, ...extra }),
      };
    }

    return {
      url,
      app,
      deps,
      wh,
      users,
      login,
      async close() {
        await app.close();
        await wh.dispose();
      },
    };
  } catch (e) {
    await wh.dispose();
    throw e;
  }
}
