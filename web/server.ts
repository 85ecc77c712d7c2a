import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { installAuth, installErrorHandlers } from './auth.js';
import type { WebDeps } from './deps.js';
import { authRoutes, DEFAULT_LOGIN_RATE_LIMIT, type LoginRateLimit } from './routes/auth.js';
import { reviewRoutes } from './routes/review.js';
import { uploadRoutes } from './routes/upload.js';
import { userRoutes } from './routes/users.js';
import { workbookRoutes } from './routes/workbook.js';

export interface ServerOptions {
  /** Login attempts per IP and username (default 10 per minute). */
  loginRateLimit?: LoginRateLimit;
  /** Behind a reverse proxy: trust X-Forwarded-For for the client IP (rate limiting, logs). */
  trustProxy?: boolean;
}

/** The package root (the folder with package.json), found from this module so it works from dist/ too. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above web/server');
    dir = up;
  }
  return dir;
}

/** The folder of the steward page (plain ES modules, no build). */
export const PUBLIC_DIR = path.join(packageRoot(), 'web', 'public');

/**
 * The review server: security headers, cookies, login rate limit, multipart uploads, the page, and the
 * JSON API under /api (every route needs a session or API token unless marked public). Not listening
 * yet: call `listen` (or `inject` in tests).
 */
export function buildServer(deps: WebDeps, opts: ServerOptions = {}): FastifyInstance {
  // Fastify's own request logging is off: requests are logged once, through the engine logger, below.
  const app = Fastify({ logger: false, trustProxy: opts.trustProxy ?? false });
  const log = deps.ctx.logger.child({ component: 'web' });

  app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      // Only the server's own scripts and styles: the page has no inline script or style.
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
  app.register(fastifyCookie);
  app.register(fastifyRateLimit, { global: false });
  app.register(fastifyMultipart, { limits: { fileSize: deps.uploadLimitBytes, files: 1 } });

  // Hooks on the root instance: they cover every route registered below, by any plugin.
  installAuth(app, deps);
  installErrorHandlers(app, deps);
  app.addHook('onResponse', async (request, reply) => {
    log.debug(
      {
        method: request.method,
        url: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        user: request.user?.username,
      },
      'request',
    );
  });

  // The page and its assets are public (the login form is on it); every route in this scope is marked so.
  app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), auth: 'public' };
    });
    await scope.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/', index: 'index.html' });
  });

  app.register(
    async (api) => {
      await authRoutes(api, deps, opts.loginRateLimit ?? DEFAULT_LOGIN_RATE_LIMIT);
      await userRoutes(api, deps);
      await api.register(async (scope) => reviewRoutes(scope, deps));
      await api.register(async (scope) => uploadRoutes(scope, deps));
      await api.register(async (scope) => workbookRoutes(scope, deps));
    },
    { prefix: '/api' },
  );
  return app;
}
