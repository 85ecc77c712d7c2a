import type { Logger } from '../../src/types.js';

/** A file the watcher has taken out of a county folder: it is now only in `<root>/processing/`. */
export interface ClaimedFile {
  /** County code, from the folder the clerk dropped the file in (6 digits). */
  county: string;
  /** The file name as the clerk gave it: for display only, never joined into a path. */
  name: string;
  /** Where the claimed file is now (inside `<root>/processing/`). */
  path: string;
  /** SHA-256 of the bytes, lower-case hex. */
  sha256: string;
  size: number;
}

/** What the handler made of a claimed file; decides where the file goes next. */
export type InboxResult =
  /** Ingested → `archive/<county>/<batchIds[0]>__<name>`. */
  | { status: 'done'; batchIds: string[] }
  /** The same bytes were already ingested (the handler asked the ledger) → archived, with a reason file. */
  | { status: 'already'; batchIds: string[] }
  /** Not ingested → `failed/<county>/<name>` with `<name>.reason.txt` (Chinese first, then English). */
  | { status: 'failed'; zh: string; en: string };

export interface InboxOptions {
  /** The inbox folder. Everything under it must be on one filesystem (claims and moves are `rename`s). */
  root: string;
  /** A file is claimed only after its size and mtime have not changed for this long (default 2000 ms). */
  settleMs?: number;
  /** Scan interval (default 1000 ms): polling, not fs.watch, so network shares work. */
  pollMs?: number;
  /** Files handled at once by this watcher (default 1). */
  concurrency?: number;
  /**
   * A claimed file whose lease (`<claimId>.lease` beside it) has not been refreshed for this long is
   * taken to be abandoned by a crashed or stalled watcher and is handled again (default 60000 ms).
   * The owner refreshes it every quarter of this; watchers sharing a root need clocks within seconds.
   */
  leaseMs?: number;
  logger: Logger;
}

/** Handles one claimed file (the lead's ingest + ledger); must be idempotent by SHA-256. */
export type InboxHandler = (file: ClaimedFile) => Promise<InboxResult>;

/** What became of one file in a scan. */
export interface InboxHandledFile {
  /** null: the file was dropped in the root, outside any county folder. */
  county: string | null;
  /** Display name (the clerk's, or the safe form for a file recovered from processing/). */
  name: string;
  /**
   * `left`: still in processing/, to be handled again once its lease expires (the handler threw a
   * transient error, or the file could not be moved).
   */
  status: 'done' | 'already' | 'failed' | 'left';
  batchIds: string[];
  sha256?: string;
  /** Final path in archive/ or failed/. */
  destination?: string;
  reasonFile?: string;
  /** Taken from processing/ (left there by a crashed or stalled run). */
  recovered: boolean;
}

/** What one scan did. */
export interface InboxScanReport {
  handled: InboxHandledFile[];
  /** Files seen but not handled yet: still settling, or claimed by another live watcher. */
  pending: number;
}
