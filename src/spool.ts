/**
 * The spool: a folder every worker can read (a local folder on one machine, a shared mount across
 * machines). Submitted files are copied in under their SHA-256 (the clerk's file name never becomes a
 * path), and a collected batch's chunks are written there as files that chunk jobs read: records as JSON,
 * or a CSV's bytes as they were in the file after a line of JSON saying how to split and number them.
 * Writes go to a temporary name first and are renamed into place, so a reader never sees half a file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { internalError } from './errors.js';
import type { CsvBytesChunk, RawRecord } from './source.js';

const BATCH_ID = /^[0-9A-Za-z][0-9A-Za-z._-]{0,80}$/;
const SPOOL_NAME = /^in\/[0-9a-f]{64}(\.[a-z0-9]{1,5})?$/;

export interface Spool {
  root: string;
  /** Copies a file in under its SHA-256; returns the spool-relative path and the hash. */
  put(file: string): Promise<{ spoolPath: string; sha256: string }>;
  /** Absolute path of a spool-relative path written by `put` (checked: nothing outside the spool). */
  resolve(spoolPath: string): string;
  remove(spoolPath: string): Promise<void>;
  writeChunk(batchId: string, chunkNo: number, chunk: RawRecord[] | CsvBytesChunk): Promise<void>;
  readChunk(batchId: string, chunkNo: number): Promise<RawRecord[] | CsvBytesChunk>;
  hasChunk(batchId: string, chunkNo: number): Promise<boolean>;
  removeChunk(batchId: string, chunkNo: number): Promise<void>;
  removeBatch(batchId: string): Promise<void>;
}

export function makeSpool(root: string): Spool {
  const chunkDir = (batchId: string) => {
    if (!BATCH_ID.test(batchId)) {
      throw internalError(
        'BAD_BATCH_ID',
        `批次号“${batchId}”不合规。`,
        `batch id ${JSON.stringify(batchId)} is malformed`,
      );
    }
    return path.join(root, 'chunks', batchId);
  };
  const chunkFile = (batchId: string, n: number) => {
    if (!Number.isInteger(n) || n < 0)
      throw internalError('BAD_CHUNK', `分片号 ${n} 不合规。`, `bad chunk number ${n}`);
    return path.join(chunkDir(batchId), `${n}.json`);
  };
  const resolve = (spoolPath: string) => {
    if (!SPOOL_NAME.test(spoolPath)) {
      throw internalError('BAD_SPOOL_PATH', `暂存路径“${spoolPath}”不合规。`, `spool path ${spoolPath} is malformed`);
    }
    return path.join(root, spoolPath);
  };
  const atomicWrite = async (target: string, data: string | Uint8Array[]) => {
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, data); // pieces are written one after the other, not joined into one copy first
    await rename(tmp, target);
  };

  return {
    root,
    async put(file) {
      await mkdir(path.join(root, 'in'), { recursive: true });
      const ext = path.extname(file).toLowerCase();
      const safeExt = /^\.[a-z0-9]{1,5}$/.test(ext) ? ext : '';
      const tmp = path.join(root, 'in', `.${randomBytes(8).toString('hex')}.tmp`);
      // The kernel copies (copy_file_range / reflink where the filesystem can); the hash is of the copy, so it
      // names exactly the bytes the workers will read even if the original changes meanwhile.
      const hash = createHash('sha256');
      try {
        await copyFile(file, tmp);
        for await (const chunk of createReadStream(tmp, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      const sha256 = hash.digest('hex');
      const spoolPath = `in/${sha256}${safeExt}`;
      await rename(tmp, path.join(root, spoolPath)); // same bytes twice: the second rename replaces the first
      return { spoolPath, sha256 };
    },
    resolve,
    async remove(spoolPath) {
      await rm(resolve(spoolPath), { force: true });
    },
    async writeChunk(batchId, n, chunk) {
      if (Array.isArray(chunk)) {
        await atomicWrite(chunkFile(batchId, n), JSON.stringify(encodeDates(chunk)));
        return;
      }
      const { bytes, ...meta } = chunk;
      await atomicWrite(chunkFile(batchId, n), [Buffer.from(`${JSON.stringify({ csv: meta })}\n`), bytes]);
    },
    async readChunk(batchId, n) {
      const data = await readFile(chunkFile(batchId, n));
      if (data[0] === 0x7b && data.subarray(0, 7).toString() === '{"csv":') {
        const nl = data.indexOf(0x0a);
        const { csv } = JSON.parse(data.subarray(0, nl).toString('utf8')) as { csv: Omit<CsvBytesChunk, 'bytes'> };
        return { ...csv, bytes: data.subarray(nl + 1) };
      }
      const parsed = JSON.parse(data.toString('utf8')) as ChunkFile;
      return parsed.dates ? decodeDates(parsed.records) : parsed.records;
    },
    async hasChunk(batchId, n) {
      return stat(chunkFile(batchId, n)).then(
        () => true,
        () => false,
      );
    },
    async removeChunk(batchId, n) {
      await rm(chunkFile(batchId, n), { force: true });
    },
    async removeBatch(batchId) {
      await rm(chunkDir(batchId), { recursive: true, force: true });
    },
  };
}

interface ChunkFile {
  /** True when some cells were Dates (xlsx date cells), written as { $date: ISO string }. */
  dates: boolean;
  records: RawRecord[];
}

/** JSON has no dates: tag them, so a text cell that looks like a date stays text. */
function encodeDates(records: RawRecord[]): ChunkFile {
  let dates = false;
  const out = records.map((r) => {
    if (!r.cells.some((c) => c instanceof Date)) return r;
    dates = true;
    return { ...r, cells: r.cells.map((c) => (c instanceof Date ? ({ $date: c.toISOString() } as never) : c)) };
  });
  return { dates, records: out };
}

function decodeDates(records: RawRecord[]): RawRecord[] {
  for (const r of records) {
    const cells = r.cells as unknown[];
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i];
      if (c !== null && typeof c === 'object' && '$date' in c) cells[i] = new Date((c as { $date: string }).$date);
    }
  }
  return records;
}
