import { randomBytes } from 'node:crypto';

/** A batch id a clerk can read and quote: the start time in UTC plus randomness (no `:` so it can be a job id). */
export function newBatchId(now: Date): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${t}-${randomBytes(4).toString('hex')}`;
}
