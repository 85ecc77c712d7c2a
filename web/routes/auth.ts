import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createSession, deleteSession, SESSION_COOKIE, SESSION_TTL_MS } from '../../review/sessions.js';
import { verifyLogin } from '../../review/users.js';
import { HttpError, requireUser } from '../auth.js';
import type { WebDeps } from '../deps.js';

export interface LoginRateLimit {
  /** Attempts per IP and username within the window. */
  max: number;
  timeWindow: number | string;
}

export const DEFAULT_LOGIN_RATE_LIMIT: LoginRateLimit = { max: 10, timeWindow: '1 minute' };

const COOKIE_OPTIONS = { httpOnly: true, secure: true, sameSite: 'strict', path: '/' } as const;

const loginBody = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 200 },
    password: { type: 'string', minLength: 1, maxLength: 1000 },
  },
} as const;

function loginKey(request: FastifyRequest): string {
  const body = request.body as { username?: unknown } | undefined;
  const username = typeof body?.username === 'string' ? body.username.toLowerCase() : '';
  return `${request.ip}|${username}`;
}

/** POST /login, POST /logout, GET /me (under the /api prefix). */
export async function authRoutes(
  app: FastifyInstance,
  deps: WebDeps,
  limit: LoginRateLimit = DEFAULT_LOGIN_RATE_LIMIT,
): Promise<void> {
  const db = deps.ctx.db.knex;
  const log = deps.ctx.logger.child({ component: 'web' });

  app.post(
    '/login',
    {
      schema: { body: loginBody },
      config: {
        auth: 'public',
        rateLimit: {
          max: limit.max,
          timeWindow: limit.timeWindow,
          // preHandler: the body (and so the username) is parsed by then.
          hook: 'preHandler',
          keyGenerator: loginKey,
          errorResponseBuilder: (_req, ctx) =>
            new HttpError(
              429,
              'RATE_LIMITED',
              `登录尝试过于频繁，请 ${Math.max(1, Math.ceil(ctx.ttl / 1000))} 秒后再试。`,
              `too many login attempts; retry in ${ctx.after}`,
            ),
        },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body as { username: string; password: string };
      const user = await verifyLogin(db, username, password);
      if (!user) {
        log.warn({ username, ip: request.ip }, 'login failed');
        throw new HttpError(
          401,
          'BAD_LOGIN',
          '用户名或密码错误，或该账号已停用。',
          'wrong username or password, or user disabled',
        );
      }
      const session = await createSession(db, user, deps.ctx.clock.now());
      reply.setCookie(SESSION_COOKIE, session.cookieValue, {
        ...COOKIE_OPTIONS,
        maxAge: Math.floor(SESSION_TTL_MS / 1000),
      });
      return { user, csrfToken: session.csrfToken };
    },
  );

  app.post('/logout', async (request, reply) => {
    const user = requireUser(request);
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie && request.authVia === 'session') await deleteSession(db, cookie, user.username);
    reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
    return { ok: true };
  });

  app.get('/me', async (request) => ({ user: requireUser(request), csrfToken: request.csrfToken }));
}
