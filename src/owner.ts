import { hostname } from 'node:os';

/** This process as the owner of the batches it runs in-process: `host:pid`. */
export function processOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * Whether the owner of a batch may still be running it: another machine's process cannot be seen from
 * here, so it counts as alive; on this machine, a pid that no longer exists is a process gone. (A pid
 * reused by an unrelated process also counts as alive: the batch then waits, it is never closed wrongly.)
 */
export function ownerMayBeAlive(owner: string, self = processOwner()): boolean {
  if (owner === self) return true;
  const at = owner.lastIndexOf(':');
  if (at < 0) return true; // not a host:pid: not ours to judge
  const pid = Number(owner.slice(at + 1));
  if (owner.slice(0, at) !== hostname() || !Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
