import { setTimeout as sleep } from 'node:timers/promises';
import { configError, transientError } from '../../src/errors.js';
import type { Logger } from '../../src/types.js';

/** How long to wait between attempts. */
export interface Backoff {
  /** First delay before jitter (default 500 ms); doubles with every attempt. */
  baseMs: number;
  /** Ceiling of one delay (default 30 s). */
  maxMs: number;
  /** A Retry-After longer than this is not waited for: the attempt fails as transient at once (default 60 s). */
  maxRetryAfterMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 500, maxMs: 30_000, maxRetryAfterMs: 60_000 };

export interface FetchTextOptions {
  /** Safe to show: the URL without credentials or query values (see `displayUrl`). */
  shown: string;
  headers: Record<string, string>;
  timeoutMs: number;
  retries: number;
  backoff: Backoff;
  logger: Logger;
  details: Record<string, unknown>;
}

/** What a successful request gave. */
export interface FetchedText {
  status: number;
  body: string;
}

/** Why one attempt failed, when another attempt may help. */
interface Retryable {
  reason: string;
  status?: number;
  retryAfterMs?: number;
}

/**
 * GET with a per-attempt timeout (covering the body too) and retries with exponential backoff and full
 * jitter on network errors, timeouts, 429 and 5xx, honouring Retry-After. Other non-2xx answers are
 * permanent config errors (a wrong URL, token or parameter does not heal by retrying).
 */
export async function fetchText(url: URL, opts: FetchTextOptions): Promise<FetchedText> {
  let last: Retryable = { reason: 'no attempt' };
  let attempts = 0;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (attempt > 0) {
      const delay = last.retryAfterMs ?? jitter(opts.backoff, attempt);
      opts.logger.warn(
        { url: opts.shown, attempt, status: last.status, reason: last.reason, delayMs: delay },
        'http source: retrying',
      );
      await sleep(delay);
    }
    attempts++;
    const outcome = await attemptOnce(url, opts);
    if ('body' in outcome) return outcome;
    last = outcome;
    if (last.retryAfterMs !== undefined && last.retryAfterMs > opts.backoff.maxRetryAfterMs) break;
  }
  const status = last.status !== undefined ? `HTTP ${last.status}` : last.reason;
  throw transientError(
    'SOURCE_HTTP_UNAVAILABLE',
    `接口 ${opts.shown} 暂时不可用（${status}），已请求 ${attempts} 次，稍后会再试。`,
    `GET ${opts.shown} failed after ${attempts} attempts: ${status}${last.status !== undefined ? ` (${last.reason})` : ''}`,
    { ...opts.details, url: opts.shown, status: last.status, attempts },
  );
}

async function attemptOnce(url: URL, opts: FetchTextOptions): Promise<FetchedText | Retryable> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...opts.headers }, signal });
  } catch (e) {
    return { reason: failureReason(e, opts.timeoutMs) };
  }
  if (res.status === 429 || res.status >= 500) {
    await res.body?.cancel().catch(() => {});
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    return {
      reason: res.statusText || 'server error',
      status: res.status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw configError(
      'SOURCE_HTTP_STATUS',
      `接口 ${opts.shown} 返回 HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}，请核对配置中的地址、参数和认证信息。`,
      `GET ${opts.shown}: HTTP ${res.status} ${res.statusText}`,
      { ...opts.details, url: opts.shown, status: res.status },
    );
  }
  try {
    return { status: res.status, body: await res.text() };
  } catch (e) {
    // The body stalled or the connection broke mid-body: the same as a failed request.
    return { reason: failureReason(e, opts.timeoutMs), status: res.status };
  }
}

function failureReason(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}

/** Full jitter: a random delay up to the exponential ceiling of this attempt. */
function jitter(b: Backoff, attempt: number): number {
  const ceiling = Math.min(b.maxMs, b.baseMs * 2 ** (attempt - 1));
  return Math.round(Math.random() * ceiling);
}

/** `Retry-After` as seconds or an HTTP date → milliseconds from now. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The URL as it may appear in messages and logs: no user, password, query or fragment. */
export function displayUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
