/**
 * The small error vocabulary the runner interprets (DESIGN.md §7):
 * - InputError: the file or an argument is unusable (exit code 2); other files still run.
 * - ConfigError: bad configuration, fails at start-up.
 * - TransientError: infrastructure hiccup, worth a retry with backoff.
 * - InternalError: a bug (exit code 1).
 * - Interrupted: the operator stopped the command (Ctrl-C, SIGTERM): exit code 130 / 143.
 * Rejected rows are not errors: they are data (Issue on a Row).
 */
export type ErrorKind = 'input' | 'config' | 'transient' | 'internal' | 'interrupted';

export interface ErrorDetails {
  file?: string;
  sheet?: string;
  row?: number;
  column?: string;
  [key: string]: unknown;
}

export class GuijiError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  /** Message for a clerk, in Chinese: what is wrong and how to fix it. */
  readonly zh: string;
  readonly details: ErrorDetails;

  constructor(
    kind: ErrorKind,
    code: string,
    zh: string,
    en: string,
    details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(en, options);
    this.name = 'GuijiError';
    this.kind = kind;
    this.code = code;
    this.zh = zh;
    this.details = details;
  }

  /** Exit code of the CLI when this error ends a command (DESIGN.md §3). */
  get exitCode(): number {
    // A signal's conventional shell status (128 + its number), so scripts can tell a stop from a failure.
    if (this.kind === 'interrupted') return this.details.signal === 'SIGTERM' ? 143 : 130;
    return this.kind === 'input' || this.kind === 'config' ? 2 : 1;
  }
}

export function inputError(code: string, zh: string, en: string, details?: ErrorDetails): GuijiError {
  return new GuijiError('input', code, zh, en, details);
}

export function configError(code: string, zh: string, en: string, details?: ErrorDetails): GuijiError {
  return new GuijiError('config', code, zh, en, details);
}

/** An infrastructure hiccup (a server unreachable, a connection cut): worth a retry with backoff. */
export function transientError(
  code: string,
  zh: string,
  en: string,
  details?: ErrorDetails,
  cause?: unknown,
): GuijiError {
  return new GuijiError('transient', code, zh, en, details, { cause });
}

export function internalError(
  code: string,
  zh: string,
  en: string,
  details?: ErrorDetails,
  cause?: unknown,
): GuijiError {
  return new GuijiError('internal', code, zh, en, details, { cause });
}

/** The operator stopped the work (details.signal: 'SIGINT' or 'SIGTERM'). */
export function interruptedError(signal: string, zh: string, en: string, details: ErrorDetails = {}): GuijiError {
  return new GuijiError('interrupted', 'INTERRUPTED', zh, en, { ...details, signal });
}

export function isGuijiError(e: unknown): e is GuijiError {
  return e instanceof GuijiError;
}

const INFRASTRUCTURE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000', // connection_exception
  '08003', // connection_does_not_exist
  '08006', // connection_failure
  '08001', // unable to connect
  '53300', // too_many_connections
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

/**
 * True when an error comes from infrastructure (database or Redis unreachable, a connection cut, a
 * pool timeout) rather than from the data or a bug: those are the errors worth a retry.
 */
export function isTransient(e: unknown): boolean {
  if (isGuijiError(e)) return e.kind === 'transient';
  const err = e as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  if (typeof err.code === 'string' && INFRASTRUCTURE_CODES.has(err.code)) return true;
  if (err.name === 'KnexTimeoutError') return true;
  const msg = typeof err.message === 'string' ? err.message : '';
  return /Connection terminated|connection is closed|Client has encountered a connection error|timeout exceeded when trying to connect|read ECONNRESET|Connection is closed|ECONNREFUSED/i.test(
    msg,
  );
}
