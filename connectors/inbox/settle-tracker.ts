interface Observation {
  size: number;
  mtimeMs: number;
  /** performance.now() when this size and mtime were first seen. */
  since: number;
}

/**
 * Remembers each file's size and mtime across scans: a file is settled once both stayed the same
 * for `settleMs` (a clerk's copy over a share may pause; one unchanged stat proves nothing).
 */
export class SettleTracker {
  private readonly seen = new Map<string, Observation>();

  /** Records a sighting; true when the file has not changed for `settleMs`. */
  observe(key: string, size: number, mtimeMs: number, settleMs: number, now = performance.now()): boolean {
    const prev = this.seen.get(key);
    if (prev === undefined || prev.size !== size || prev.mtimeMs !== mtimeMs) {
      this.seen.set(key, { size, mtimeMs, since: now });
      return settleMs <= 0;
    }
    return now - prev.since >= settleMs;
  }

  forget(key: string): void {
    this.seen.delete(key);
  }

  /** Drops files no longer present (claimed by someone, or deleted). */
  retainOnly(keys: ReadonlySet<string>): void {
    for (const key of this.seen.keys()) if (!keys.has(key)) this.seen.delete(key);
  }
}
