import { randomBytes } from 'node:crypto';
import { isSafeFileName } from './file-names.js';

/** A fresh claim id: lower-case letters and digits only, unique across watchers. */
export function newClaimId(): string {
  return `${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
}

/** The name of a claimed file in processing/: `<claimId>__<safe name>`. */
export function claimFileName(claimId: string, safeName: string): string {
  return `${claimId}__${safeName}`;
}

const CLAIM_NAME = /^([0-9a-z]{8,40})__(.+)$/;

/** The parts of a claimed file's name, or null for anything this module did not write. */
export function parseClaimFileName(name: string): { claimId: string; name: string } | null {
  const m = CLAIM_NAME.exec(name);
  if (m === null || m[1] === undefined || m[2] === undefined || !isSafeFileName(m[2])) return null;
  return { claimId: m[1], name: m[2] };
}

/** The lease beside a claimed file: `<claimId>.lease`, refreshed by the watcher working on it. */
export function leaseFileName(claimId: string): string {
  return `${claimId}.lease`;
}

const LEASE_NAME = /^([0-9a-z]{8,40})\.lease$/;

/** The claim id of a lease file's name, or null. */
export function parseLeaseFileName(name: string): string | null {
  return LEASE_NAME.exec(name)?.[1] ?? null;
}
