import type { Stats } from 'node:fs';
import { utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Logger } from '../../src/types.js';

/**
 * Creates a claim's lease. It is written before the file is renamed into processing/, so a claimed
 * file is never seen there without one. The lease is a file of the watcher's own: refreshing the
 * clerk's file instead would need to own it (utimes), which a watcher on a shared folder may not.
 */
export async function createLease(leasePath: string): Promise<void> {
  const owner = { host: hostname(), pid: process.pid, claimedAt: new Date().toISOString() };
  await writeFile(leasePath, `${JSON.stringify(owner)}\n`, { flag: 'wx' });
}

/** A lease refreshed within `leaseMs` means a live watcher holds the claim. */
export function isLeaseFresh(lease: Stats | undefined, leaseMs: number, now = Date.now()): boolean {
  return lease !== undefined && now - lease.mtimeMs < leaseMs;
}

export interface LeaseKeeper {
  stop(): void;
}

/** Refreshes the lease every quarter of `leaseMs` while the file is worked on. */
export function keepLeaseFresh(leasePath: string, leaseMs: number, log: Logger): LeaseKeeper {
  let stopped = false;
  const timer = setInterval(
    () => {
      const now = new Date();
      utimes(leasePath, now, now).catch((e: unknown) => {
        if (!stopped) log.warn({ err: e }, 'inbox: could not refresh the claim (taken over by another watcher?)');
      });
    },
    Math.max(Math.floor(leaseMs / 4), 10),
  );
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
