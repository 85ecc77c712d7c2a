import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobIds, QUEUE_NAMES } from '../../jobs/registry.js';
import { makeSpool } from '../../src/spool.js';

const root = mkdtempSync(path.join(tmpdir(), 'guiji-spool-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('spool', () => {
  const spool = makeSpool(root);

  it('stores a file under its SHA-256, whatever its name, and resolves only its own paths', async () => {
    const src = path.join(root, '../上报 ..\\文件.CSV');
    writeFileSync(src, 'a,b\n1,2\n');
    try {
      const { spoolPath, sha256 } = await spool.put(src);
      expect(sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(spoolPath).toBe(`in/${sha256}.csv`);
      expect(readdirSync(path.join(root, 'in'))).toEqual([`${sha256}.csv`]);
      expect(() => spool.resolve('in/../../etc/passwd')).toThrow(/malformed/);
      expect(() => spool.resolve('/etc/passwd')).toThrow(/malformed/);
    } finally {
      rmSync(src, { force: true });
    }
  });

  it('round-trips chunk records, keeping date cells dates and date-like text text', async () => {
    const when = new Date('2024-03-05T00:00:00.000Z');
    const records = [
      { rowNumber: 3, cells: ['2024-03-05T00:00:00.000Z', when, 12.5, null, true] },
      {
        rowNumber: 4,
        cells: ['x'],
        issues: [{ code: 'ROW_RAGGED', severity: 'error' as const, zh: '列数不符', en: 'ragged' }],
      },
    ];
    await spool.writeChunk('20261127T000000Z-abcdef01-1', 0, records);
    const back = await spool.readChunk('20261127T000000Z-abcdef01-1', 0);
    expect(back).toEqual(records);
    if (!Array.isArray(back)) throw new Error('records expected');
    expect(back[0]?.cells[0]).toBeTypeOf('string');
    expect(back[0]?.cells[1]).toBeInstanceOf(Date);
    await spool.removeBatch('20261127T000000Z-abcdef01-1');
    expect(await spool.hasChunk('20261127T000000Z-abcdef01-1', 0)).toBe(false);
  });

  it('keeps a chunk of CSV bytes byte for byte, with how to split it', async () => {
    // GB18030 bytes, a line break and a quote inside a cell: nothing may be re-encoded.
    const bytes = Buffer.concat([Buffer.from([0xb4, 0xa6, 0xb7, 0xa3]), Buffer.from(',"a\n""b"""\r\n')]);
    const chunk = {
      bytes: new Uint8Array(bytes),
      base: 41,
      records: 1,
      format: { encoding: 'gb18030', delimiter: ',' as const, newline: '\r\n' as const },
      skipRecords: 3,
      width: 30,
      file: '县区处罚.csv',
    };
    await spool.writeChunk('20261127T000000Z-abcdef01-2', 5, chunk);
    const back = await spool.readChunk('20261127T000000Z-abcdef01-2', 5);
    if (Array.isArray(back)) throw new Error('bytes expected');
    expect(Buffer.from(back.bytes).equals(bytes)).toBe(true);
    expect({ ...back, bytes: null }).toEqual({ ...chunk, bytes: null });
  });

  it('refuses batch ids that could leave the spool', async () => {
    await expect(spool.writeChunk('../x', 0, [])).rejects.toThrow(/malformed/);
    await expect(spool.writeChunk('a/b', 0, [])).rejects.toThrow(/malformed/);
  });
});

describe('job registry', () => {
  it('gives deterministic job ids without ":" for every queue', () => {
    expect(QUEUE_NAMES).toEqual(['collect', 'chunk', 'finalize', 'sync']);
    const ids = [
      jobIds.collect({ requestId: '20261127T000000Z-abcdef01' }),
      jobIds.chunk({ batchId: '20261127T000000Z-abcdef01-1', chunkNo: 7 }),
      jobIds.finalize({ batchId: '20261127T000000Z-abcdef01-1' }),
      jobIds.sync({ source: 'wuchang-penalties' }),
    ];
    for (const id of ids) expect(id).not.toContain(':');
    expect(ids[1]).toBe(jobIds.chunk({ batchId: '20261127T000000Z-abcdef01-1', chunkNo: 7 }));
  });
});
