import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { GuijiError } from '../errors.js';

/**
 * The embedded warehouse's exclusive lock on `$GUIJI_HOME`: a file `guiji.lock` holding the owner's pid
 * and host, created with O_EXCL. Liveness is the owner process itself (signal 0), not a heartbeat:
 * PGlite runs queries synchronously on the main thread, so an mtime-refreshing lock (proper-lockfile)
 * would be declared stale — and taken over — during any long query. A lock left by a dead process is
 * taken over at once, under a short-lived `guiji.lock.takeover` directory so two newcomers cannot both win.
 */
export interface HomeLock {
  readonly file: string;
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
  startedAt?: string;
}

const LOCK_NAME = 'guiji.lock';
/** A takeover guard older than this was left by a process that died mid-takeover. */
const GUARD_STALE_MS = 10_000;
/** Lock files this process holds (a crashed earlier process may have had our pid: that one is stale). */
const held = new Set<string>();

export function acquireHomeLock(home: string): HomeLock {
  mkdirSync(home, { recursive: true });
  const file = path.join(path.resolve(home), LOCK_NAME);
  const me: Owner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const content = JSON.stringify(me);
  for (let attempt = 0; attempt < 50; attempt++) {
    if (tryCreate(file, content)) return hold(file, content);
    const seen = readOwner(file);
    if (seen === undefined) continue; // vanished between our create and read: try again
    if (isAlive(seen.owner, file)) throw lockedError(home, file, seen.owner);
    takeOver(file, seen.raw);
  }
  throw lockedError(home, file, readOwner(file)?.owner);
}

function hold(file: string, content: string): HomeLock {
  held.add(file);
  // A normal exit (also process.exit) removes the lock; a kill leaves it to be taken over.
  const onExit = () => removeIfOurs(file, content);
  process.once('exit', onExit);
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      process.removeListener('exit', onExit);
      held.delete(file);
      removeIfOurs(file, content);
    },
  };
}

function tryCreate(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readOwner(file: string): { raw: string; owner: Owner | undefined } | undefined {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const o = JSON.parse(raw) as Partial<Owner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') return { raw, owner: o as Owner };
  } catch {
    // empty or torn: treated below
  }
  return { raw, owner: undefined };
}

function isAlive(owner: Owner | undefined, file: string): boolean {
  if (owner === undefined) {
    // Created but not yet written (a racing opener), or garbage: trust it only while it is fresh.
    try {
      return Date.now() - statSync(file).mtimeMs < GUARD_STALE_MS;
    } catch {
      return false;
    }
  }
  if (owner.host !== hostname()) return true; // cannot see another machine's processes: assume alive
  if (owner.pid === process.pid) return held.has(file);
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

/** Removes a dead owner's lock file, unless someone replaced it meanwhile. */
function takeOver(file: string, staleRaw: string): void {
  const guard = `${file}.takeover`;
  try {
    mkdirSync(guard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    try {
      if (Date.now() - statSync(guard).mtimeMs > GUARD_STALE_MS) rmdirSync(guard);
    } catch {
      // another process removed it first
    }
    sleepMs(20);
    return;
  }
  try {
    const now = readOwner(file);
    if (now !== undefined && now.raw === staleRaw) unlinkSync(file);
  } finally {
    rmdirSync(guard);
  }
}

function removeIfOurs(file: string, content: string): void {
  try {
    if (readFileSync(file, 'utf8') === content) unlinkSync(file);
  } catch {
    // already gone
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function lockedError(home: string, file: string, owner: Owner | undefined): GuijiError {
  const who = owner ? `PID ${owner.pid}${owner.host !== hostname() ? `，主机 ${owner.host}` : ''}` : 'PID 未知';
  return new GuijiError(
    'config',
    'WAREHOUSE_LOCKED',
    `内置数据仓库正被另一个 guiji 进程使用（${who}）：${home}。请等该进程结束后再试，或为本次运行设置另一个 GUIJI_HOME；` +
      `如确认没有 guiji 进程在运行，可删除锁文件 ${file} 后重试。`,
    `embedded warehouse in ${home} is locked by another guiji process (${owner ? `pid ${owner.pid} on ${owner.host}` : 'unknown pid'}); lock file ${file}`,
    { home, lockFile: file, pid: owner?.pid },
  );
}
