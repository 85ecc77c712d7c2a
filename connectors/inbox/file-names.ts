import iconv from 'iconv-lite';

/** Suffix of the Chinese explanation written beside a file in archive/ or failed/. */
export const REASON_SUFFIX = '.reason.txt';

/**
 * Longest safe name, in UTF-8 bytes. Paths get `<batch id>__` in front and ` (n)` + `.reason.txt`
 * behind, and a path component may hold at most 255 bytes (ext4, NTFS via SMB).
 */
const MAX_NAME_BYTES = 160;

const IGNORED_SUFFIXES = ['.tmp', '.part', '.crdownload'];
/** Windows leaves these in shared folders; they are never county files. */
const IGNORED_NAMES = new Set(['thumbs.db', 'desktop.ini']);

/**
 * Files that are not (yet) a clerk's submission: hidden files (including LibreOffice's `.~lock.x#`),
 * Excel owner files (`~$x.xlsx`), downloads and copies in progress.
 */
export function isIgnoredName(name: string): boolean {
  if (name.startsWith('.') || name.startsWith('~$')) return true;
  const lower = name.toLowerCase();
  return IGNORED_NAMES.has(lower) || IGNORED_SUFFIXES.some((s) => lower.endsWith(s));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A directory entry's name as text. Names that are not UTF-8 (e.g. GBK names from an unzipped
 * archive) are read as GB18030 so the clerk still recognises them; `exact` is false then, and the
 * text is not the name on disk.
 */
export function decodeFileName(raw: Buffer): { text: string; exact: boolean } {
  try {
    return { text: strictUtf8.decode(raw), exact: true };
  } catch {
    return { text: iconv.decode(raw, 'gb18030'), exact: false };
  }
}

// Control characters (C0, DEL, C1), path separators; U+FFFD marks bytes that were not text.
const UNSAFE_CHARS = /[\p{Cc}/\\\ufffd]/gu;

/** A name every path in the inbox can be built from, and whether it differs from the clerk's. */
export interface SafeName {
  name: string;
  changed: boolean;
}

/**
 * The safe form of a file name: no `/`, `\`, NUL or other control characters, no `..`, not hidden,
 * at most 160 UTF-8 bytes (the extension kept when it is cut).
 */
export function safeFileName(original: string): SafeName {
  let name = original.replace(UNSAFE_CHARS, '_').replace(/\.{2,}/g, '.');
  if (name.startsWith('.')) name = `_${name}`;
  if (name.trim() === '') name = 'file';
  name = truncateUtf8(name, MAX_NAME_BYTES);
  return { name, changed: name !== original };
}

/** True when `name` is already its own safe form (used for names this module wrote itself). */
export function isSafeFileName(name: string): boolean {
  return !safeFileName(name).changed;
}

function truncateUtf8(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  const stem = ext === '' ? name : name.slice(0, dot);
  let out = '';
  let bytes = Buffer.byteLength(ext);
  for (const ch of stem) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > maxBytes) break;
    out += ch;
    bytes += b;
  }
  return out + ext;
}

/** `a.xlsx` → `a (2).xlsx`: the name for the n-th file of that name in archive/ or failed/. */
export function withNumericSuffix(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}

/** A name as text a clerk can read in a reason file or a log: control characters shown as `\uXXXX`. */
export function printableName(name: string): string {
  return name.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const BATCH_ID_PART = /^[A-Za-z0-9_-]{1,64}$/;

/** A batch id as a file-name part (batch ids come from the handler: checked, not trusted). */
export function batchIdPart(batchId: string | undefined, fallback: string): string {
  if (batchId === undefined || batchId === '') return fallback;
  if (BATCH_ID_PART.test(batchId)) return batchId;
  return batchId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
}
