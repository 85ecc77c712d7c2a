import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isReviewError } from '../review/errors.js';
import { sameSecret } from '../review/secrets.js';
import { resolveSession, SESSION_COOKIE } from '../review/sessions.js';
import { resolveToken } from '../review/tokens.js';
import type { Actor, User } from '../review/types.js';
import { isGuijiError } from '../src/errors.js';
import type { WebDeps } from './deps.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'public': reachable without a session or token (login, the page shell, static assets). */
    auth?: 'public';
  }
  interface FastifyRequest {
    /** Who is logged in (null only on public routes). */
    user: User | null;
    /** Who the audit log names for this request. */
    actor: Actor;
    /** How the user proved itself: the session cookie (CSRF applies) or an API token (it does not). */
    authVia: 'session' | 'token' | null;
    /** The session's CSRF token (cookie-authenticated requests only). */
    csrfToken: string | null;
  }
}

/** The JSON body of every API error: stable code, Chinese message for the clerk, English for logs. */
export interface ApiError {
  code: string;
  message: string;
  en: string;
  [extra: string]: unknown;
}

/** An error the web layer answers with directly (status + code); thrown from hooks and handlers. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    readonly zh: string,
    en: string,
  ) {
    super(en);
    this.name = 'HttpError';
  }
}

const ANONYMOUS: Actor = { name: 'anonymous', user: null };
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const unauthenticated = () =>
  new HttpError(401, 'UNAUTHENTICATED', '请先登录。', 'authentication required (session cookie or API token)');

/** The logged-in user of a non-public route (the auth hook guarantees there is one). */
export function requireUser(request: FastifyRequest): User {
  if (!request.user) throw unauthenticated();
  return request.user;
}

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : '';
}

/**
 * Authentication for every route of the instance it is installed on (call it on the root instance,
 * before routes are registered): a session cookie or `Authorization: Bearer gj_…` token; 401 on every
 * route not marked `config: { auth: 'public' }`; cookie-authenticated mutations need `x-csrf-token`.
 * Runs at onRequest, so an unauthenticated upload is refused before its body is read.
 */
export function installAuth(app: FastifyInstance, deps: WebDeps): void {
  const db = deps.ctx.db.knex;
  app.decorateRequest('user', null);
  app.decorateRequest('actor', null as unknown as Actor);
  app.decorateRequest('authVia', null);
  app.decorateRequest('csrfToken', null);

  app.addHook('onRequest', async (request) => {
    request.actor = ANONYMOUS;
    const isPublic = request.routeOptions.config?.auth === 'public';
    const now = deps.ctx.clock.now();
    const token = bearer(request);
    if (token !== undefined) {
      // A token that is present but wrong is refused, never silently ignored for the cookie.
      const user = token ? await resolveToken(db, token, now) : null;
      if (!user) {
        if (isPublic) return;
        throw new HttpError(401, 'UNAUTHENTICATED', 'API 令牌无效或已撤销。', 'invalid or revoked API token');
      }
      request.user = user;
      request.actor = { name: user.username, user };
      request.authVia = 'token';
      return;
    }
    const cookie = request.cookies?.[SESSION_COOKIE];
    const session = cookie ? await resolveSession(db, cookie, now) : null;
    if (session) {
      request.user = session.user;
      request.actor = { name: session.user.username, user: session.user };
      request.authVia = 'session';
      request.csrfToken = session.csrfToken;
    }
    if (isPublic) return;
    if (!session) throw unauthenticated();
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameSecret(sent, session.csrfToken))
        throw new HttpError(
          403,
          'CSRF',
          '页面已过期或请求来源不明（缺少 CSRF 令牌），请刷新页面后重试。',
          'missing or wrong x-csrf-token header',
        );
    }
  });
}

const GENERIC_ZH: Record<number, string> = {
  400: '请求格式不正确。',
  401: '请先登录。',
  403: '没有权限执行此操作。',
  404: '找不到请求的内容。',
  405: '不支持此请求方法。',
  406: '不支持请求的内容格式。',
  413: '上传的内容太大。',
  415: '不支持的内容类型，请以 JSON 或表单上传方式提交。',
  429: '请求过于频繁，请稍后再试。',
};

/** Maps any thrown error to the API's error shape and status (`uploadLimitBytes` names the upload cap). */
export function toApiError(
  err: unknown,
  uploadLimitBytes?: number,
): { status: number; body: ApiError; internal: boolean } {
  if (isReviewError(err)) {
    // Details are attached deliberately by the review code (e.g. the rejection of a fix that still fails).
    return {
      status: err.status,
      body: { ...err.details, code: err.code, message: err.zh, en: err.message },
      internal: false,
    };
  }
  if (err instanceof HttpError)
    return { status: err.statusCode, body: { code: err.code, message: err.zh, en: err.message }, internal: false };
  if (isGuijiError(err)) {
    // Details of engine errors may name server-side paths: the clerk gets the message only.
    if (err.kind === 'input')
      return { status: 400, body: { code: err.code, message: err.zh, en: err.message }, internal: false };
    return { status: 500, body: internalBody(), internal: true };
  }
  const fe = err as Partial<FastifyError> & { statusCode?: number };
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    if (fe.validation) {
      return {
        status: 400,
        body: {
          code: 'BAD_REQUEST',
          message: '请求内容不正确（缺少字段或格式不对）。',
          en: fe.message ?? 'validation failed',
        },
        internal: false,
      };
    }
    if (fe.code === 'FST_REQ_FILE_TOO_LARGE' || fe.code === 'FST_FILES_LIMIT' || fe.code === 'FST_PARTS_LIMIT') {
      const mb = uploadLimitBytes ? Math.round((uploadLimitBytes / 1024 / 1024) * 10) / 10 : undefined;
      return {
        status: 413,
        body: {
          code: 'UPLOAD_TOO_LARGE',
          message:
            fe.code === 'FST_REQ_FILE_TOO_LARGE'
              ? `上传的文件超过了大小上限${mb ? `（${mb} MB）` : ''}，请拆分后分别上传。`
              : '一次只能上传一个文件。',
          en: fe.message ?? 'upload too large',
        },
        internal: false,
      };
    }
    const code = status === 429 ? 'RATE_LIMITED' : (fe.code ?? `HTTP_${status}`);
    return {
      status,
      body: { code, message: GENERIC_ZH[status] ?? '请求无法处理。', en: fe.message ?? `HTTP ${status}` },
      internal: false,
    };
  }
  return { status: 500, body: internalBody(), internal: true };
}

const internalBody = (): ApiError => ({
  code: 'INTERNAL',
  message: '服务器内部错误，请稍后再试；如果一直出现，请联系系统管理员。',
  en: 'internal server error (see the server log)',
});

/** The error and not-found handlers of the API (installed on the root instance). */
export function installErrorHandlers(app: FastifyInstance, deps: WebDeps): void {
  const log = deps.ctx.logger.child({ component: 'web' });
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, internal } = toApiError(err, deps.uploadLimitBytes);
    if (internal) {
      const e = err as Error;
      log.error({ err: e, en: e?.message, method: request.method, url: request.url }, 'request failed');
    } else {
      log.debug({ code: body.code, status, method: request.method, url: request.url }, body.en);
    }
    return reply.status(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      code: 'NOT_FOUND',
      message: '找不到请求的地址。',
      en: `no route ${request.method} ${request.url.split('?')[0]}`,
    } satisfies ApiError),
  );
}
