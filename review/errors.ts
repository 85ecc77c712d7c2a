import { GuijiError } from '../src/errors.js';

/**
 * Refusals of the review service, each with the HTTP status the web layer answers with. A clerk asking
 * for another county's batch or rejection gets `notFound` (as if it did not exist), never its data.
 */
export class ReviewError extends GuijiError {
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422;

  constructor(status: ReviewError['status'], code: string, zh: string, en: string, details = {}) {
    super('input', code, zh, en, details);
    this.name = 'ReviewError';
    this.status = status;
  }
}

export function isReviewError(e: unknown): e is ReviewError {
  return e instanceof ReviewError;
}

export const badRequest = (code: string, zh: string, en: string, details = {}) =>
  new ReviewError(400, code, zh, en, details);

export const forbidden = (zh: string, en: string) => new ReviewError(403, 'FORBIDDEN', zh, en);

export const notFound = (what: string, id: string | number) =>
  new ReviewError(404, 'NOT_FOUND', `找不到${what} ${id}，或您无权查看。`, `${what} ${id} not found or not visible`, {
    id,
  });

export const conflict = (code: string, zh: string, en: string, details = {}) =>
  new ReviewError(409, code, zh, en, details);
