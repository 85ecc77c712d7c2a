import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { isGuijiError } from '../../src/errors.js';
import type { Logger } from '../../src/types.js';
import { createLease, isLeaseFresh, keepLeaseFresh, type LeaseKeeper } from './claim-lease.js';
import { claimFileName, leaseFileName, newClaimId, parseClaimFileName, parseLeaseFileName } from './claim-names.js';
import {
  batchIdPart,
  decodeFileName,
  isIgnoredName,
  printableName,
  type SafeName,
  safeFileName,
} from './file-names.js';
import { assertInboxRoot, type InboxSettings, inboxSettings } from './inbox-settings.js';
import { placeFile } from './place-file.js';
import {
  alreadyIngestedReason,
  internalErrorReason,
  misplacedReason,
  type Reason,
  reasonFileText,
  renamedReason,
} from './reasons.js';
import { SettleTracker } from './settle-tracker.js';
import type {
  ClaimedFile,
  InboxHandledFile,
  InboxHandler,
  InboxOptions,
  InboxResult,
  InboxScanReport,
} from './types.js';

const COUNTY_FOLDER = /^\d{6}$/;
const RESERVED_FOLDERS = new Set(['archive', 'failed', 'processing']);
/** processing/ bucket of files dropped in the root (county buckets are 6 digits, so no clash). */
const ROOT_BUCKET = '_root';

/**
 * What a watcher remembers between scans (sizes and mtimes for the settle check, folders already
 * reported as ignored, its own files in flight). Opaque: create one and pass it to every scan.
 */
export class InboxScanState {
  readonly settle = new SettleTracker();
  readonly noted = new Set<string>();
  readonly inFlight = new Set<string>();
}

export interface ScanControl {
  /** Keep it across scans: without it nothing has had time to settle (unless settleMs is 0). */
  state?: InboxScanState;
  /** Once aborted no further file is claimed; files already claimed are finished. */
  signal?: AbortSignal;
}

/** A file found in a county folder, the root, or (abandoned) in processing/. */
interface Candidate {
  recovered: boolean;
  county: string | null;
  /** The path as found (a Buffer when read from a folder clerks write to: the name may not be UTF-8). */
  source: Buffer | string;
  displayName: string;
  safe: SafeName;
  /** The name on disk was not UTF-8 (displayName is a GB18030 reading of it). */
  notUtf8: boolean;
  size: number;
  mtimeMs: number;
  /** The lease of the abandoned claim (recovered files). */
  oldLease?: string;
}

/**
 * One scan-and-handle pass: what the watch loop does each poll. Files abandoned in processing/
 * (their lease expired) come first, then settled files of the county folders and the root.
 *
 * With a fresh `state` no dropped file is settled yet (unless settleMs is 0): for a one-shot run,
 * call it again with the same state after `pollMs` while `pending > 0`.
 *
 * Everything under `opts.root` must be on one filesystem: claims and moves are `rename`s, which
 * are atomic only there. That is what lets several watchers (on several machines) share a root.
 */
export async function scanInboxOnce(
  opts: InboxOptions,
  handle: InboxHandler,
  control: ScanControl = {},
): Promise<InboxScanReport> {
  const s = inboxSettings(opts);
  const state = control.state ?? new InboxScanState();
  await assertInboxRoot(s.root);
  const report: InboxScanReport = { handled: [], pending: 0 };
  const candidates = [...(await findAbandoned(s, state, report)), ...(await findDropped(s, state, report))];
  await forEachLimited(candidates, s.concurrency, control.signal, async (c) => {
    const handled = await takeAndHandle(c, s, state, handle, report);
    if (handled !== null) report.handled.push(handled);
  });
  return report;
}

async function findAbandoned(s: InboxSettings, state: InboxScanState, report: InboxScanReport): Promise<Candidate[]> {
  const processing = path.join(s.root, 'processing');
  const out: Candidate[] = [];
  for (const bucket of await readdirOrEmpty(processing)) {
    const county = COUNTY_FOLDER.test(bucket) ? bucket : bucket === ROOT_BUCKET ? null : undefined;
    const dir = path.join(processing, bucket);
    if (county === undefined || (await lstatOrUndefined(dir))?.isDirectory() !== true) {
      noteForeign(s.logger, state, bucket);
      continue;
    }
    const names = await readdirOrEmpty(dir);
    const leases = new Map<string, string>();
    for (const name of names) {
      const claimId = parseLeaseFileName(name);
      if (claimId !== null) leases.set(claimId, path.join(dir, name));
    }
    const claimIds = new Set<string>();
    for (const name of names) {
      if (parseLeaseFileName(name) !== null) continue;
      const full = path.join(dir, name);
      const parsed = parseClaimFileName(name);
      if (parsed !== null) claimIds.add(parsed.claimId);
      if (state.inFlight.has(full)) continue;
      const st = await lstatOrUndefined(full);
      if (st === undefined) continue;
      if (parsed === null || !st.isFile()) {
        noteForeign(s.logger, state, `${bucket}/${name}`);
        continue;
      }
      const oldLease = leases.get(parsed.claimId);
      if (isLeaseFresh(oldLease === undefined ? undefined : await lstatOrUndefined(oldLease), s.leaseMs)) {
        report.pending++; // a live watcher is on it
        continue;
      }
      out.push({
        recovered: true,
        county,
        source: full,
        displayName: parsed.name,
        safe: { name: parsed.name, changed: false },
        notUtf8: false,
        size: st.size,
        mtimeMs: st.mtimeMs,
        ...(oldLease === undefined ? {} : { oldLease }),
      });
    }
    // A lease without its file: a claim that died before its rename, or one whose file was placed.
    for (const [claimId, lease] of leases) {
      if (!claimIds.has(claimId) && !isLeaseFresh(await lstatOrUndefined(lease), s.leaseMs)) {
        await rm(lease, { force: true });
      }
    }
  }
  return out;
}

function noteForeign(log: Logger, state: InboxScanState, entry: string): void {
  noteOnce(
    log,
    state,
    `processing:${entry}`,
    { file: printableName(entry) },
    'inbox: ignored a foreign entry in processing/',
  );
}

async function findDropped(s: InboxSettings, state: InboxScanState, report: InboxScanReport): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const present = new Set<string>();
  const consider = (e: DirEntry, county: string | null) => {
    const key = e.full.toString('hex');
    present.add(key);
    if (!state.settle.observe(key, e.stats.size, e.stats.mtimeMs, s.settleMs)) {
      report.pending++;
      return;
    }
    const safe = safeFileName(e.text);
    if (!e.exact) safe.changed = true; // the bytes on disk are not the name we store
    out.push({
      recovered: false,
      county,
      source: e.full,
      displayName: e.text,
      safe,
      notUtf8: !e.exact,
      size: e.stats.size,
      mtimeMs: e.stats.mtimeMs,
    });
  };

  const counties: string[] = [];
  for (const e of await listEntries(s.root)) {
    if (e.stats.isDirectory()) {
      if (e.exact && RESERVED_FOLDERS.has(e.text)) continue;
      if (e.exact && COUNTY_FOLDER.test(e.text)) counties.push(e.text);
      else
        noteOnce(
          s.logger,
          state,
          `folder:${e.text}`,
          { folder: printableName(e.text) },
          'inbox: ignored a folder that is not a 6-digit county code',
        );
    } else if (e.stats.isFile()) {
      if (!isIgnoredName(e.text)) consider(e, null);
    } else {
      noteOnce(
        s.logger,
        state,
        `entry:${e.text}`,
        { file: printableName(e.text) },
        'inbox: ignored an entry that is neither a file nor a folder',
      );
    }
  }
  for (const county of counties) {
    let entries: DirEntry[];
    try {
      entries = await listEntries(path.join(s.root, county));
    } catch (e) {
      s.logger.error({ err: e, county }, 'inbox: cannot read a county folder');
      continue;
    }
    for (const e of entries) {
      if (e.stats.isFile()) {
        if (!isIgnoredName(e.text)) consider(e, county);
      } else {
        const what = e.stats.isDirectory() ? 'a subfolder' : 'an entry that is not a file';
        noteOnce(
          s.logger,
          state,
          `sub:${county}/${e.text}`,
          { county, file: printableName(e.text) },
          `inbox: ignored ${what} in a county folder`,
        );
      }
    }
  }
  state.settle.retainOnly(present);
  return out;
}

async function takeAndHandle(
  c: Candidate,
  s: InboxSettings,
  state: InboxScanState,
  handle: InboxHandler,
  report: InboxScanReport,
): Promise<InboxHandledFile | null> {
  const claimId = newClaimId();
  const dir = path.join(s.root, 'processing', c.county ?? ROOT_BUCKET);
  const claimedPath = path.join(dir, claimFileName(claimId, c.safe.name));
  const leasePath = path.join(dir, leaseFileName(claimId));
  const log = s.logger.child({ county: c.county, file: printableName(c.displayName), claimId });
  let claimed: ClaimOutcome;
  try {
    claimed = await claim(c, claimedPath, leasePath, s.leaseMs);
  } catch (e) {
    log.error({ err: e }, 'inbox: could not claim the file');
    return null;
  }
  if (claimed !== 'claimed') {
    if (claimed === 'changed') report.pending++;
    return null;
  }
  state.inFlight.add(claimedPath);
  log.info({ recovered: c.recovered, ...(c.safe.changed ? { storedAs: c.safe.name } : {}) }, 'inbox: claimed');
  const lease = keepLeaseFresh(leasePath, s.leaseMs, log);
  let handled: InboxHandledFile;
  try {
    handled = await handleClaimed(c, claimedPath, claimId, s, handle, lease, log);
  } catch (e) {
    log.error(
      { err: e },
      'inbox: could not finish the file; it stays in processing/ and is retried when its lease expires',
    );
    handled = { county: c.county, name: c.displayName, status: 'left', batchIds: [], recovered: c.recovered };
  } finally {
    lease.stop();
    state.inFlight.delete(claimedPath);
  }
  // A file left in processing/ keeps its lease, which expires and lets any watcher retry it.
  if (handled.status !== 'left') await rm(leasePath, { force: true }).catch(() => undefined);
  return handled;
}

/** `taken`: another watcher got it first (or it is gone); `changed`: it changed since the scan. */
type ClaimOutcome = 'claimed' | 'taken' | 'changed';

/**
 * Atomically takes the file: `rename` succeeds for exactly one watcher, the others get ENOENT and
 * skip it silently. The lease is created first, so no watcher ever sees the claimed file unleased.
 */
async function claim(c: Candidate, claimedPath: string, leasePath: string, leaseMs: number): Promise<ClaimOutcome> {
  const st = await lstatOrUndefined(c.source);
  if (st === undefined) return 'taken';
  if (!st.isFile() || st.size !== c.size || st.mtimeMs !== c.mtimeMs) return 'changed';
  // The scan may be minutes old: its owner may have refreshed the abandoned-looking lease since.
  if (c.oldLease !== undefined && isLeaseFresh(await lstatOrUndefined(c.oldLease), leaseMs)) return 'changed';
  await mkdir(path.dirname(claimedPath), { recursive: true });
  await createLease(leasePath);
  try {
    await rename(c.source, claimedPath);
  } catch (e) {
    await rm(leasePath, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'taken';
    throw e;
  }
  if (c.oldLease !== undefined) await rm(c.oldLease, { force: true });
  return 'claimed';
}

async function handleClaimed(
  c: Candidate,
  claimedPath: string,
  claimId: string,
  s: InboxSettings,
  handle: InboxHandler,
  lease: LeaseKeeper,
  log: Logger,
): Promise<InboxHandledFile> {
  const base = { county: c.county, name: c.displayName, recovered: c.recovered };
  const notes: Reason[] = c.safe.changed ? [renamedReason(c.displayName, c.safe.name, c.notUtf8)] : [];
  if (c.county === null) {
    lease.stop();
    const reason = misplacedReason();
    const placed = await placeFile(
      claimedPath,
      path.join(s.root, 'failed'),
      c.safe.name,
      reasonFileText('failed', c.displayName, [reason, ...notes]),
    );
    log.warn({ status: 'failed', destination: placed.path, reason: reason.en }, 'inbox: file outside a county folder');
    return { ...base, status: 'failed', batchIds: [], destination: placed.path, reasonFile: placed.reasonPath };
  }

  const { sha256, size } = await hashFile(claimedPath);
  const file: ClaimedFile = { county: c.county, name: c.displayName, path: claimedPath, sha256, size };
  const result = await runHandler(handle, file, log);
  lease.stop();
  if (result === 'retry') return { ...base, status: 'left', batchIds: [], sha256 };

  let placed: { path: string; reasonPath?: string };
  let batchIds: string[] = [];
  if (result.status === 'failed') {
    const text = reasonFileText('failed', c.displayName, [{ zh: result.zh, en: result.en }, ...notes]);
    placed = await placeFile(claimedPath, path.join(s.root, 'failed', c.county), c.safe.name, text);
    log.info({ status: 'failed', destination: placed.path, reason: result.en }, 'inbox: not ingested');
  } else {
    batchIds = result.batchIds;
    const reasons = result.status === 'already' ? [alreadyIngestedReason(batchIds, sha256), ...notes] : notes;
    const text = reasons.length > 0 ? reasonFileText(result.status, c.displayName, reasons) : null;
    const fileName = `${batchIdPart(batchIds[0], claimId)}__${c.safe.name}`;
    placed = await placeFile(claimedPath, path.join(s.root, 'archive', c.county), fileName, text);
    log.info({ status: result.status, batchIds, sha256, destination: placed.path }, 'inbox: archived');
  }
  return { ...base, status: result.status, batchIds, sha256, destination: placed.path, reasonFile: placed.reasonPath };
}

/**
 * The handler's verdict. A throw never stops the watcher: an input error (the file is unusable)
 * fails the file with its own message; a transient one (database down) leaves the file in
 * processing/ to be retried when its lease expires; anything else fails it as an internal error.
 */
async function runHandler(handle: InboxHandler, file: ClaimedFile, log: Logger): Promise<InboxResult | 'retry'> {
  let result: InboxResult;
  try {
    result = await handle(file);
  } catch (e) {
    if (isGuijiError(e) && e.kind === 'transient') {
      log.warn(
        { err: e },
        'inbox: transient error; the file stays in processing/ and is retried when its lease expires',
      );
      return 'retry';
    }
    if (isGuijiError(e) && e.kind === 'input') return { status: 'failed', zh: e.zh, en: e.message };
    log.error({ err: e }, 'inbox: the handler failed (internal error); the file goes to failed/');
    return { status: 'failed', ...internalErrorReason(e instanceof Error ? e.message : String(e)) };
  }
  const status = (result as { status?: unknown } | undefined)?.status;
  if (status !== 'done' && status !== 'already' && status !== 'failed') {
    log.error({ result }, 'inbox: the handler returned no valid result (internal error)');
    return { status: 'failed', ...internalErrorReason(`invalid handler result: ${JSON.stringify(result)}`) };
  }
  return result;
}

async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

interface DirEntry {
  /** The full path as bytes: the name on disk may not be UTF-8. */
  full: Buffer;
  text: string;
  exact: boolean;
  stats: Stats;
}

/** Entries with their lstat (symlinks are not followed: a link could point outside the inbox). */
async function listEntries(dir: string): Promise<DirEntry[]> {
  const prefix = Buffer.from(dir + path.sep);
  const out: DirEntry[] = [];
  for (const raw of await readdir(dir, { encoding: 'buffer' })) {
    const full = Buffer.concat([prefix, raw]);
    const stats = await lstatOrUndefined(full);
    if (stats === undefined) continue;
    out.push({ full, stats, ...decodeFileName(raw) });
  }
  return out;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function lstatOrUndefined(p: string | Buffer): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function noteOnce(log: Logger, state: InboxScanState, key: string, obj: object, msg: string): void {
  if (state.noted.has(key)) return;
  state.noted.add(key);
  log.warn(obj, msg);
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (signal?.aborted !== true && next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
