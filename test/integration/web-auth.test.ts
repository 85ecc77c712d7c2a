/**
 * Authentication and the security envelope of the review server: every API route needs a session or
 * token (including routes added later by other modules), CSRF on cookie mutations, hashed secrets,
 * disabled users, login rate limit, cookie flags, security headers, roles, the audit log — and the
 * `guiji user` / `guiji serve` commands.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServe } from '../../cli/commands/serve.js';
import { runUserCli } from '../../cli/commands/user.js';
import { resolveSession, SESSION_TTL_MS } from '../../review/sessions.js';
import { resolveToken } from '../../review/tokens.js';
import { verifyLogin } from '../../review/users.js';
import { buildServer } from '../../web/server.js';
import { describeEachWarehouse } from '../helpers/warehouses.js';
import { startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/web.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** A response's JSON body (API errors are `{code, message, en}`). */
const body = async (res: Response) => (await res.json()) as Record<string, unknown>;

interface RouteInfo {
  method: string;
  url: string;
  public: boolean;
}

/** Builds a second server on the same deps and records every route it registers. */
async function collectRoutes(s: TestServer): Promise<{ app: FastifyInstance; routes: RouteInfo[] }> {
  const app = buildServer(s.deps);
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat())
      routes.push({ method, url: r.url, public: (r.config as { auth?: string } | undefined)?.auth === 'public' });
  });
  await app.ready();
  return { app, routes };
}

/** A concrete URL for a route pattern: every parameter becomes 1, a wildcard becomes x. */
const concrete = (url: string) => url.replace(/:[A-Za-z_]+(\([^)]*\))?/g, '1').replace(/\*/g, 'x');

describeEachWarehouse('web auth', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind, { label: 'webauth' });
  });
  afterAll(async () => {
    await s?.close();
  });

  const api = (path: string, init: RequestInit = {}) => fetch(`${s.url}${path}`, init);
  const json = (body: unknown, headers: Record<string, string> = {}) => ({
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });

  it('answers 401 on every non-public /api route without a session or token, and only login is public', async () => {
    const { app, routes } = await collectRoutes(s);
    try {
      const apiRoutes = routes.filter((r) => r.url.startsWith('/api'));
      const urls = new Set(apiRoutes.map((r) => `${r.method} ${r.url}`));
      for (const own of ['GET /api/me', 'POST /api/logout', 'GET /api/users', 'POST /api/users', 'POST /api/tokens'])
        expect(urls).toContain(own);
      expect(apiRoutes.filter((r) => r.public).map((r) => `${r.method} ${r.url}`)).toEqual(['POST /api/login']);
      const guarded = apiRoutes.filter((r) => !r.public);
      for (const r of guarded) {
        for (const headers of [
          {},
          { authorization: 'Bearer gj_not-a-real-token' },
          { cookie: 'guiji_session=forged' },
        ]) {
          const res = await app.inject({ method: r.method as 'GET', url: concrete(r.url), headers });
          expect(res.statusCode, `${r.method} ${r.url} ${JSON.stringify(headers)}`).toBe(401);
          if (r.method !== 'HEAD') expect(res.json().code).toBe('UNAUTHENTICATED');
        }
      }
    } finally {
      await app.close();
    }
  });

  it('serves the page without login, with strict security headers', async () => {
    const page = await api('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    for (const res of [page, await api('/api/me')]) {
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("default-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    }
  });

  it('logs in with a secure, httpOnly, SameSite=Strict cookie; the database keeps only hashes', async () => {
    const res = await api('/api/login', { method: 'POST', ...json({ username: 'steward', password: TEST_PASSWORD }) });
    expect(res.status).toBe(200);
    const login = (await res.json()) as { user: { username: string; role: string }; csrfToken: string };
    expect(login.user).toMatchObject({ username: 'steward', role: 'steward', county: null });
    expect(login.csrfToken.length).toBeGreaterThanOrEqual(40);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('guiji_session=')) as string;
    expect(setCookie).toBeDefined();
    const flags = setCookie.split(';').map((p) => p.trim().toLowerCase());
    expect(flags).toEqual(expect.arrayContaining(['httponly', 'secure', 'samesite=strict', 'path=/']));
    const value = setCookie.split(';')[0]?.split('=')[1] as string;
    expect(Buffer.from(value, 'base64url').length).toBe(32);
    const rows = await s.wh.wh.knex('sessions').select('id_hash', 'csrf_token');
    expect(rows.map((r) => r.id_hash)).toContain(sha256(value));
    expect(rows.map((r) => r.id_hash)).not.toContain(value);

    const hash = (await s.wh.wh.knex('users').where('username', 'steward').first('password_hash')).password_hash;
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(hash).not.toContain(TEST_PASSWORD);

    const bad = await api('/api/login', {
      method: 'POST',
      ...json({ username: 'steward', password: 'wrong-password' }),
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ code: 'BAD_LOGIN', message: expect.stringContaining('密码') });
    expect(bad.headers.getSetCookie()).toEqual([]);
    const unknown = await api('/api/login', { method: 'POST', ...json({ username: 'nobody', password: 'whatever1' }) });
    expect(unknown.status).toBe(401);
    expect((await body(unknown)).code).toBe('BAD_LOGIN');
  });

  it('refuses a cookie mutation without the CSRF token, accepts it with the token', async () => {
    const a = await s.login('admin');
    const me = await api('/api/me', { headers: { cookie: a.cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: { username: 'admin', role: 'admin' }, csrfToken: a.csrf });

    const without = await api('/api/tokens', { method: 'POST', ...json({ name: 'x' }, { cookie: a.cookie }) });
    expect(without.status).toBe(403);
    expect(await without.json()).toMatchObject({ code: 'CSRF', message: expect.any(String), en: expect.any(String) });
    // One character changed (to one it is not: a token ending in A made this test pass a wrong token as right).
    const changed = a.csrf.endsWith('A') ? 'B' : 'A';
    const wrong = await api('/api/tokens', {
      method: 'POST',
      ...json({ name: 'x' }, { cookie: a.cookie, 'x-csrf-token': `${a.csrf.slice(0, -1)}${changed}` }),
    });
    expect(wrong.status).toBe(403);
    // Another user's CSRF token does not fit this session either.
    const other = await s.login('steward');
    const crossed = await api('/api/tokens', {
      method: 'POST',
      ...json({ name: 'x' }, { cookie: a.cookie, 'x-csrf-token': other.csrf }),
    });
    expect(crossed.status).toBe(403);
    expect(await s.wh.wh.knex('api_tokens').count({ n: '*' }).first()).toMatchObject({ n: expect.anything() });
    expect(Number((await s.wh.wh.knex('api_tokens').where('name', 'x').count({ n: '*' }).first())?.n)).toBe(0);

    const ok = await api('/api/tokens', { method: 'POST', ...json({ name: 'x' }, a.headers()) });
    expect(ok.status).toBe(201);
  });

  it('accepts an API token without CSRF, stores only its hash, and stops it when revoked', async () => {
    const a = await s.login('admin');
    const created = await api('/api/tokens', { method: 'POST', ...json({ name: '夜间上传脚本' }, a.headers()) });
    expect(created.status).toBe(201);
    const { id, token } = (await created.json()) as { id: number; token: string };
    expect(token).toMatch(/^gj_[A-Za-z0-9_-]{43}$/);

    const row = await s.wh.wh.knex('api_tokens').where('id', id).first();
    expect(row.token_hash).toBe(sha256(token));
    expect(JSON.stringify(await s.wh.wh.knex('api_tokens').select('*'))).not.toContain(token.slice(3));
    expect(row.last_used_at).toBeNull();

    const auth = { authorization: `Bearer ${token}` };
    const me = await api('/api/me', { headers: auth });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: { username: 'admin' }, csrfToken: null });
    expect((await s.wh.wh.knex('api_tokens').where('id', id).first()).last_used_at).not.toBeNull();
    // A mutation by token needs no CSRF header.
    const viaToken = await api('/api/tokens', { method: 'POST', ...json({ name: 'zweit' }, auth) });
    expect(viaToken.status).toBe(201);
    // The listing never shows a secret.
    const list = await api('/api/tokens', { headers: auth });
    const listed = JSON.stringify(await list.json());
    expect(listed).toContain('夜间上传脚本');
    expect(listed).not.toContain(token.slice(3));
    expect(listed).not.toContain(row.token_hash);

    const revoked = await api(`/api/tokens/${id}`, { method: 'DELETE', headers: a.headers() });
    expect(revoked.status).toBe(200);
    const after = await api('/api/me', { headers: auth });
    expect(after.status).toBe(401);
    expect((await body(after)).code).toBe('UNAUTHENTICATED');
  });

  it('gives a clerk or steward 403 on admin endpoints, and the error shape everywhere', async () => {
    const clerk = await s.login('clerk230184');
    expect(clerk.user).toMatchObject({ role: 'clerk', county: '230184' });
    const users = await api('/api/users', { headers: clerk.headers() });
    expect(users.status).toBe(403);
    expect(await users.json()).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/管理员/),
      en: expect.any(String),
    });
    const steward = await s.login('steward');
    const add = await api('/api/users', {
      method: 'POST',
      ...json({ username: 'x1', password: 'long-enough-1', role: 'admin' }, steward.headers()),
    });
    expect(add.status).toBe(403);
    expect(await s.wh.wh.knex('users').where('username', 'x1').first()).toBeUndefined();
    // A clerk may not revoke someone else's token: as if it did not exist.
    const admin = await s.login('admin');
    const t = (await (
      await api('/api/tokens', { method: 'POST', ...json({ name: 'adm' }, admin.headers()) })
    ).json()) as {
      id: number;
    };
    const steal = await api(`/api/tokens/${t.id}`, { method: 'DELETE', headers: clerk.headers() });
    expect(steal.status).toBe(404);
    expect((await s.wh.wh.knex('api_tokens').where('id', t.id).first()).revoked_at).toBeNull();

    const bad = await api('/api/users', {
      method: 'POST',
      ...json({ username: 'x2', password: 'short', role: 'clerk', county: '230184' }, admin.headers()),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.any(String),
      en: expect.any(String),
    });
    const noCounty = await api('/api/users', {
      method: 'POST',
      ...json({ username: 'x3', password: 'long-enough-1', role: 'clerk' }, admin.headers()),
    });
    expect(noCounty.status).toBe(400);
    expect((await body(noCounty)).code).toBe('BAD_COUNTY');
    const missing = await api('/api/users/999999', { headers: admin.headers() });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('999999') });
  });

  it('a disabled user can no longer log in, and its sessions and tokens stop working', async () => {
    const admin = await s.login('admin');
    const password = 'temp-密码-123';
    const created = await api('/api/users', {
      method: 'POST',
      ...json({ username: 'temp', password, role: 'clerk', county: '230102', displayName: '临时' }, admin.headers()),
    });
    expect(created.status).toBe(201);
    const temp = (await body(created)).user as { id: number };
    const dup = await api('/api/users', {
      method: 'POST',
      ...json({ username: 'temp', password, role: 'steward' }, admin.headers()),
    });
    expect(dup.status).toBe(409);

    const session = await s.login('temp', password);
    const token = (
      (await (await api('/api/tokens', { method: 'POST', ...json({ name: 't' }, session.headers()) })).json()) as {
        token: string;
      }
    ).token;
    expect((await api('/api/me', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    const disabled = await api(`/api/users/${temp.id}/disable`, { method: 'POST', headers: admin.headers() });
    expect(disabled.status).toBe(200);
    expect((await body(disabled)).user).toMatchObject({ username: 'temp', disabled: true });

    expect((await api('/api/me', { headers: session.headers() })).status).toBe(401);
    expect((await api('/api/me', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    await expect(s.login('temp', password)).rejects.toThrow(/401/);
    expect(await verifyLogin(s.wh.wh.knex, 'temp', password)).toBeNull();
    expect(await s.wh.wh.knex('sessions').where('user_id', temp.id)).toEqual([]);

    // The audit log has the add, the disable and the token, never the password or the token.
    const audit = await s.wh.wh.knex('audit_log').select('*').orderBy('id');
    const mine = audit.filter((r) => r.entity === 'user' && r.entity_id === String(temp.id));
    expect(mine.map((r) => [r.actor, r.action])).toEqual([
      ['admin', 'add'],
      ['admin', 'disable'],
    ]);
    expect(mine[0].new_value).toMatchObject({ username: 'temp', role: 'clerk', county: '230102' });
    expect(mine[1]).toMatchObject({ old_value: { disabled: false }, new_value: { disabled: true } });
    const tokenRows = audit.filter((r) => r.entity === 'token' && r.actor === 'temp' && r.action === 'create');
    expect(tokenRows).toHaveLength(1);
    expect(tokenRows[0].new_value).toMatchObject({ name: 't', username: 'temp' });
    expect(audit.filter((r) => r.entity === 'token' && r.action === 'revoke').length).toBeGreaterThanOrEqual(1);
    const all = JSON.stringify(audit);
    for (const secret of [password, TEST_PASSWORD, token.slice(3), session.csrf]) expect(all).not.toContain(secret);
  });

  it('caps a multipart upload at deps.uploadLimitBytes: 413 UPLOAD_TOO_LARGE, after authentication', async () => {
    const app = buildServer({ ...s.deps, uploadLimitBytes: 1024 });
    const received: number[] = [];
    app.post('/api/probe-upload', async (request) => {
      const file = await request.file();
      const data = await file?.toBuffer();
      received.push(data?.length ?? -1);
      return { bytes: data?.length };
    });
    const url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/\/$/, '');
    try {
      const form = (bytes: number) => {
        const f = new FormData();
        f.append('file', new Blob([Buffer.alloc(bytes, 65)]), '../../etc/passwd.xlsx');
        return f;
      };
      const anon = await fetch(`${url}/api/probe-upload`, { method: 'POST', body: form(10) });
      expect(anon.status).toBe(401);
      expect(received).toEqual([]);
      const a = await s.login('clerk230184');
      const small = await fetch(`${url}/api/probe-upload`, { method: 'POST', body: form(1000), headers: a.headers() });
      expect(small.status).toBe(200);
      expect(await small.json()).toEqual({ bytes: 1000 });
      const big = await fetch(`${url}/api/probe-upload`, { method: 'POST', body: form(5000), headers: a.headers() });
      expect(big.status).toBe(413);
      expect(await big.json()).toMatchObject({
        code: 'UPLOAD_TOO_LARGE',
        message: expect.stringContaining('大小上限'),
      });
      expect(received).toEqual([1000]);
    } finally {
      await app.close();
    }
  });

  it('logout ends the session; a session past its 12 hours is no longer valid', async () => {
    const c = await s.login('clerk230102');
    const value = c.cookie.split('=')[1] as string;
    const now = s.deps.ctx.clock.now();
    expect(await resolveSession(s.wh.wh.knex, value, now)).toMatchObject({ user: { username: 'clerk230102' } });
    expect(await resolveSession(s.wh.wh.knex, value, new Date(now.getTime() + SESSION_TTL_MS + 1000))).toBeNull();

    expect((await api('/api/logout', { method: 'POST', headers: { cookie: c.cookie } })).status).toBe(403);
    const out = await api('/api/logout', { method: 'POST', headers: c.headers() });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().join(';')).toMatch(/guiji_session=;/);
    expect((await api('/api/me', { headers: c.headers() })).status).toBe(401);
    expect(await s.wh.wh.knex('sessions').where('id_hash', sha256(value)).first()).toBeUndefined();
  });

  it('guiji user add / list / disable / token, in-process', async () => {
    const outLines: string[] = [];
    const errText: string[] = [];
    const ctx = s.deps.ctx;
    const cli = (args: string[], stdin = '') =>
      runUserCli(args, {
        withContext: (_opts, fn) => fn(ctx),
        stdin: Object.assign(Readable.from([stdin]), { isTTY: false }),
        out: (l) => outLines.push(l),
        err: (t) => errText.push(t),
        actor: 'cli:tester',
      });

    expect(
      await cli(
        ['add', 'wang', '--role', 'clerk', '--county', '230184', '--name', '王五', '--password-stdin'],
        'wang-password-1\n',
      ),
    ).toBe(0);
    expect(outLines.pop()).toContain('wang（王五）：区县填报员，区县 230184');
    const hash = (await ctx.db.knex('users').where('username', 'wang').first()).password_hash as string;
    expect(hash).toMatch(/^\$argon2id\$/);
    // The trailing newline of stdin is not part of the password.
    expect(await verifyLogin(ctx.db.knex, 'wang', 'wang-password-1')).toMatchObject({ username: 'wang' });

    expect(await cli(['add', 'li', '--role', 'steward', '--password-stdin'], 'short\n')).toBe(2);
    expect(await cli(['add', 'li', '--role', 'clerk', '--password-stdin'], 'long-enough-pw\n')).toBe(2);
    expect(await cli(['add', 'li', '--role', 'boss', '--password-stdin'], 'long-enough-pw\n')).toBe(2);
    expect(await cli(['add', 'li', '--role', 'steward'], '')).toBe(2); // not a terminal and no --password-stdin
    expect(await cli(['add', 'wang', '--role', 'steward', '--password-stdin'], 'long-enough-pw\n')).toBe(2);
    expect(await cli(['add', '--role', 'steward'])).toBe(2); // usage error
    expect(await ctx.db.knex('users').where('username', 'li').first()).toBeUndefined();

    outLines.length = 0;
    expect(await cli(['list', '--json'])).toBe(0);
    const listed = outLines.map((l) => JSON.parse(l));
    expect(listed.map((u) => u.username)).toEqual(expect.arrayContaining(['admin', 'steward', 'clerk230184', 'wang']));
    expect(JSON.stringify(listed)).not.toMatch(/argon2|password/);

    outLines.length = 0;
    expect(await cli(['token', 'wang', '--name', '脚本'])).toBe(0);
    const token = outLines.pop() as string;
    expect(token).toMatch(/^gj_/);
    expect(errText.join('')).toContain('只显示这一次');
    expect(await resolveToken(ctx.db.knex, token, ctx.clock.now())).toMatchObject({ username: 'wang' });

    expect(await cli(['disable', 'wang'])).toBe(0);
    expect(outLines.pop()).toContain('已停用用户 wang');
    expect(await resolveToken(ctx.db.knex, token, ctx.clock.now())).toBeNull();
    expect(await cli(['token', 'wang', '--name', 'again'])).toBe(2);
    expect(await cli(['disable', 'nobody'])).toBe(2);

    const audit = await ctx.db.knex('audit_log').where('actor', 'cli:tester').orderBy('id').select('action', 'entity');
    expect(audit.map((r) => `${r.entity}:${r.action}`)).toEqual(['user:add', 'token:create', 'user:disable']);
  });
});

describeEachWarehouse('guiji serve', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind, { label: 'serve' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('starts on the given host and port, serves the page and guards the API', async () => {
    const { app, url } = await startServe(s.deps.ctx, { port: '0', host: '127.0.0.1', uploadLimitMb: '1' });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${url}/`)).status).toBe(200);
      expect((await fetch(`${url}/api/me`)).status).toBe(401);
    } finally {
      await app.close();
    }
    await expect(startServe(s.deps.ctx, { port: '99999', host: '127.0.0.1', uploadLimitMb: '1' })).rejects.toThrow(
      /--port/,
    );
  });
});

// Login-heavy: argon2 per attempt, so PostgreSQL only.
describeEachWarehouse('login rate limit', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    if (kind === 'postgres') s = await startTestServer(kind, { label: 'ratelimit' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it.runIf(kind === 'postgres')('allows 10 attempts a minute per IP and username, then 429', async () => {
    const app = buildServer(s.deps); // the default limit, as `guiji serve` runs it
    try {
      const attempt = (username: string, password: string) =>
        app.inject({ method: 'POST', url: '/api/login', payload: { username, password } });
      for (let i = 0; i < 10; i++) expect((await attempt('clerk230184', `wrong-${i}`)).statusCode).toBe(401);
      const blocked = await attempt('clerk230184', TEST_PASSWORD);
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json()).toMatchObject({
        code: 'RATE_LIMITED',
        message: expect.stringMatching(/登录尝试过于频繁/),
      });
      expect(blocked.headers['set-cookie']).toBeUndefined();
      // Another username from the same address has its own budget.
      expect((await attempt('steward', TEST_PASSWORD)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
