/**
 * The small error vocabulary the runner interprets (DESIGN.md §7):
 * - InputError: the file or an argument is unusable (exit code 2); other files still run.
 * - ConfigError: bad configuration, fails at start-up.
 * - TransientError: infrastructure hiccup, worth a retry with backoff.
 * - InternalError: a bug (exit code 1).
 * Rejected rows are not errors: they are data (Issue on a Row).
 */
export type ErrorKind = 'input' | 'config' | 'transient' | 'internal';

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
    return this.kind === 'input' || this.kind === 'config' ? 2 : 1;
  }
}

export function inputError(code: string, zh: string, en: string, details?: ErrorDetails): GuijiError {
  return new GuijiError('input', code, zh, en, details);
}

export function configError(code: string, zh: string, en: string, details?: ErrorDetails): GuijiError {
  return new GuijiError('config', code, zh, en, details);
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

export function isGuijiError(e: unknown): e is GuijiError {
  return e instanceof GuijiError;
}
