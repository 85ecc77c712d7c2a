import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InboxScanState, scanInboxOnce, watchInbox } from '../../connectors/inbox/index.js';
import type { ClaimedFile, InboxOptions, InboxResult } from '../../connectors/inbox/types.js';
import { GuijiError, inputError } from '../../src/errors.js';
import type { Logger } from '../../src/types.js';

// Real folders and real timing: every test gets its own inbox in a temp dir.

interface LogLine {
  level: string;
  msg: string | undefined;
  fields: Record<string, unknown>;
}

/** A Logger that keeps what it was told (the watcher's logging is part of its contract). */
function memoryLogger(lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (obj: object | string, msg?: string) => {
    if (typeof obj === 'string') lines.push({ level, msg: obj, fields: { ...bindings } });
    else lines.push({ level, msg, fields: { ...bindings, ...obj } });
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => memoryLogger(lines, { ...bindings, ...b }),
  };
}

const COUNTY = '230184';
let root: string;
let logs: LogLine[];

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'guiji-inbox-'));
  logs = [];
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function opts(extra: Partial<InboxOptions> = {}): InboxOptions {
  return { root, settleMs: 150, pollMs: 40, logger: memoryLogger(logs), ...extra };
}

function drop(folder: string, name: string, content: string | Buffer): string {
  const dir = path.join(root, folder);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

function list(...parts: string[]): string[] {
  const dir = path.join(root, ...parts);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting for the watcher');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A handler backed by a Map sha → batch, like the ledger: the same bytes twice are one batch. */
function ledgerHandler(delayMs = 0) {
  const batches = new Map<string, string>();
  const calls: (ClaimedFile & { at: number })[] = [];
  let n = 0;
  const handle = async (f: ClaimedFile): Promise<InboxResult> => {
    calls.push({ ...f, at: Date.now() });
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const known = batches.get(f.sha256);
    if (known !== undefined) return { status: 'already', batchIds: [known] };
    const batchId = `20260101T000000Z-${(++n).toString(16).padStart(8, '0')}`;
    batches.set(f.sha256, batchId);
    return { status: 'done', batchIds: [batchId] };
  };
  return { handle, batches, calls };
}

function startWatcher(o: InboxOptions, handle: (f: ClaimedFile) => Promise<InboxResult>) {
  const ac = new AbortController();
  const done = watchInbox(o, handle, ac.signal);
  return {
    done,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

const BOM = '\ufeff';

describe('claiming', () => {
  it('does not claim a file that is still being written, only once it stopped growing', async () => {
    const { handle, calls } = ledgerHandler();
    const w = startWatcher(opts({ settleMs: 700, pollMs: 50 }), handle);
    let content = '处罚决定书文号,行政相对人名称\n';
    let lastWrite = 0;
    try {
      const file = drop(COUNTY, '正在复制.csv', content);
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const line = `交罚字〔2024〕${i}号,某运输有限公司\n`;
        appendFileSync(file, line);
        content += line;
      }
      lastWrite = Date.now();
      expect(calls).toHaveLength(0);
      expect(list(COUNTY)).toEqual(['正在复制.csv']);
      await waitFor(() => calls.length === 1);
    } finally {
      await w.stop();
    }
    expect(calls).toHaveLength(1);
    expect(calls[0]?.at).toBeGreaterThanOrEqual(lastWrite + 650);
    // The handler saw the whole file, not a prefix of it.
    expect(calls[0]?.sha256).toBe(sha256(content));
    expect(calls[0]?.size).toBe(Buffer.byteLength(content));
    expect(calls[0]?.county).toBe(COUNTY);
    expect(calls[0]?.name).toBe('正在复制.csv');
    expect(path.dirname(calls[0]?.path ?? '')).toBe(path.join(root, 'processing', COUNTY));
    expect(list('archive', COUNTY)).toHaveLength(1);
    expect(readFileSync(path.join(root, 'archive', COUNTY, list('archive', COUNTY)[0] ?? ''), 'utf8')).toBe(content);
    expect(list(COUNTY)).toEqual([]);
    expect(list('processing', COUNTY)).toEqual([]);
    const claimed = logs.find((l) => l.msg === 'inbox: claimed');
    expect(claimed?.fields).toMatchObject({ county: COUNTY, file: '正在复制.csv' });
    expect(logs.find((l) => l.msg === 'inbox: archived')?.fields).toMatchObject({ county: COUNTY, status: 'done' });
  });

  it('recognises the same bytes dropped twice: one batch, both archived, the second with its reason', async () => {
    const { handle, batches, calls } = ledgerHandler();
    const bytes = '处罚决定书文号\n交罚字〔2024〕1号\n';
    const w = startWatcher(opts(), handle);
    try {
      drop(COUNTY, '行政处罚.csv', bytes);
      await waitFor(() => list('archive', COUNTY).length === 1);
      drop(COUNTY, '行政处罚.csv', bytes);
      await waitFor(() => list('archive', COUNTY).length === 3);
    } finally {
      await w.stop();
    }
    expect(batches.size).toBe(1);
    expect(calls).toHaveLength(2);
    const batch = [...batches.values()][0];
    // Same archive name (same batch): a numeric suffix, never an overwrite.
    expect(list('archive', COUNTY)).toEqual([
      `${batch}__行政处罚 (2).csv`,
      `${batch}__行政处罚 (2).csv.reason.txt`,
      `${batch}__行政处罚.csv`,
    ]);
    expect(existsSync(path.join(root, 'archive', COUNTY, `${batch}__行政处罚.csv.reason.txt`))).toBe(false);
    const reason = readFileSync(path.join(root, 'archive', COUNTY, `${batch}__行政处罚 (2).csv.reason.txt`), 'utf8');
    expect(reason.startsWith(`${BOM}文件“行政处罚.csv”没有重复导入。`)).toBe(true);
    expect(reason).toContain(`与批次 ${batch} 已经导入的文件完全相同`);
    expect(reason).toContain('本次没有重复导入任何数据');
    expect(reason).toContain(sha256(bytes));
    expect(reason.indexOf('没有重复导入')).toBeLessThan(reason.indexOf('nothing was loaded again'));
    expect(readFileSync(path.join(root, 'archive', COUNTY, `${batch}__行政处罚.csv`), 'utf8')).toBe(bytes);
    expect(list('failed')).toEqual([]);
  });

  it('moves a failed file to failed/ with its Chinese reason; a throwing handler does not stop the watcher', async () => {
    const handled: string[] = [];
    const handle = async (f: ClaimedFile): Promise<InboxResult> => {
      handled.push(f.name);
      if (f.name === 'bad.csv') {
        return {
          status: 'failed',
          zh: '找不到表头行：前 20 行里没有“行政相对人名称”等列名。',
          en: 'No header row in the first 20 rows',
        };
      }
      if (f.name === 'boom.csv') throw new Error('connection lost in the middle of a merge');
      if (f.name === 'fake.xlsx')
        throw inputError('FILE_NOT_XLSX', '这不是 Excel 工作簿（.xlsx）。', 'not an xlsx workbook');
      return { status: 'done', batchIds: ['20260101T000000Z-0000000a'] };
    };
    const w = startWatcher(opts(), handle);
    try {
      drop(COUNTY, 'bad.csv', 'x');
      drop(COUNTY, 'boom.csv', 'y');
      drop(COUNTY, 'fake.xlsx', '<html></html>');
      await waitFor(() => list('failed', COUNTY).length === 6);
      drop(COUNTY, 'good.csv', 'z');
      drop(COUNTY, 'bad.csv', 'x again');
      await waitFor(() => list('archive', COUNTY).length === 1 && list('failed', COUNTY).length === 8);
    } finally {
      await w.stop();
    }
    expect(handled.sort()).toEqual(['bad.csv', 'bad.csv', 'boom.csv', 'fake.xlsx', 'good.csv']);
    expect(list('archive', COUNTY)).toEqual(['20260101T000000Z-0000000a__good.csv']);
    expect(list('failed', COUNTY)).toEqual([
      'bad (2).csv',
      'bad (2).csv.reason.txt',
      'bad.csv',
      'bad.csv.reason.txt',
      'boom.csv',
      'boom.csv.reason.txt',
      'fake.xlsx',
      'fake.xlsx.reason.txt',
    ]);
    // An input error thrown by the handler is the clerk's problem, told in its own words.
    const fake = readFileSync(path.join(root, 'failed', COUNTY, 'fake.xlsx.reason.txt'), 'utf8');
    expect(fake).toContain('这不是 Excel 工作簿（.xlsx）。');
    expect(fake).not.toContain('内部错误');
    const bad = readFileSync(path.join(root, 'failed', COUNTY, 'bad.csv.reason.txt'), 'utf8');
    expect(bad.split('\r\n')).toEqual([
      `${BOM}文件“bad.csv”没有导入。`,
      '找不到表头行：前 20 行里没有“行政相对人名称”等列名。',
      '',
      'The file "bad.csv" was not ingested.',
      'No header row in the first 20 rows',
      '',
    ]);
    const boom = readFileSync(path.join(root, 'failed', COUNTY, 'boom.csv.reason.txt'), 'utf8');
    expect(boom).toContain('发生了内部错误，文件没有导入');
    expect(boom).toContain('connection lost in the middle of a merge');
    expect(boom.indexOf('内部错误')).toBeLessThan(boom.indexOf('Internal error'));
    const logged = logs.find((l) => l.level === 'error' && l.fields.file === 'boom.csv');
    expect(logged?.fields.county).toBe(COUNTY);
    expect((logged?.fields.err as Error | undefined)?.message).toBe('connection lost in the middle of a merge');
    expect(list('processing', COUNTY)).toEqual([]);
  });

  it('two watchers on one root handle every file exactly once', async () => {
    const ledger = ledgerHandler(5);
    const expected = new Set<string>();
    for (const county of [COUNTY, '230102']) {
      for (let i = 0; i < 15; i++) {
        drop(county, `处罚-${i}.csv`, `${county} file ${i}\n`);
        expected.add(`${county}/处罚-${i}.csv`);
      }
    }
    const seenBy = [0, 0];
    const watcher = (k: 0 | 1) =>
      startWatcher(opts({ settleMs: 100, pollMs: 20, concurrency: 2 }), async (f) => {
        seenBy[k] = (seenBy[k] ?? 0) + 1;
        return ledger.handle(f);
      });
    const a = watcher(0);
    const b = watcher(1);
    try {
      await waitFor(() => list('archive', COUNTY).length + list('archive', '230102').length === 30, 8000);
      drop(COUNTY, 'late.csv', 'late');
      expected.add(`${COUNTY}/late.csv`);
      await waitFor(() => list('archive', COUNTY).length === 16);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    const handled = ledger.calls.map((c) => `${c.county}/${c.name}`);
    expect(handled.sort()).toEqual([...expected].sort());
    expect(ledger.calls.every((c) => ledger.batches.get(c.sha256) !== undefined)).toBe(true);
    expect((seenBy[0] ?? 0) + (seenBy[1] ?? 0)).toBe(31);
    expect(list('processing', COUNTY)).toEqual([]);
    expect(list('processing', '230102')).toEqual([]);
    expect(list(COUNTY)).toEqual([]);
    expect(list('230102')).toEqual([]);
    expect(list('failed')).toEqual([]);
  });
});

describe('recovery', () => {
  it('handles files left in processing/ by a crashed run first, at start', async () => {
    const leftDir = path.join(root, 'processing', COUNTY);
    mkdirSync(leftDir, { recursive: true });
    // One whose watcher died long ago (stale lease), one that died between lease and rename (no file),
    // and one with no lease at all.
    writeFileSync(path.join(leftDir, 'lq3x9k2a0011223344__遗留文件.csv'), 'left behind');
    const staleLease = path.join(leftDir, 'lq3x9k2a0011223344.lease');
    writeFileSync(staleLease, '{}');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(staleLease, anHourAgo, anHourAgo);
    const orphanLease = path.join(leftDir, 'lq3x9k2b5566778899.lease');
    writeFileSync(orphanLease, '{}');
    utimesSync(orphanLease, anHourAgo, anHourAgo);
    writeFileSync(path.join(leftDir, 'lq3x9k2c0000000000__无租约.csv'), 'no lease');
    drop(COUNTY, 'new.csv', 'new');

    const { handle, calls } = ledgerHandler();
    const w = startWatcher(opts({ settleMs: 400 }), handle);
    try {
      await waitFor(() => list('archive', COUNTY).length === 3);
    } finally {
      await w.stop();
    }
    expect(
      calls
        .slice(0, 2)
        .map((c) => c.name)
        .sort(),
    ).toEqual(['无租约.csv', '遗留文件.csv']);
    expect(calls[2]?.name).toBe('new.csv');
    expect(calls.find((c) => c.name === '遗留文件.csv')?.sha256).toBe(sha256('left behind'));
    expect(list('processing', COUNTY)).toEqual([]);
    expect(list('archive', COUNTY).filter((n) => n.endsWith('__遗留文件.csv'))).toHaveLength(1);
  });

  it('leaves a claim with a fresh lease to its owner and takes it over once the lease expired', async () => {
    const leftDir = path.join(root, 'processing', COUNTY);
    mkdirSync(leftDir, { recursive: true });
    writeFileSync(path.join(leftDir, 'lq3x9k2a0011223344__busy.csv'), 'another watcher is on it');
    writeFileSync(path.join(leftDir, 'lq3x9k2a0011223344.lease'), '{}');
    const { handle, calls } = ledgerHandler();
    const o = opts({ settleMs: 0, leaseMs: 1000 });

    const first = await scanInboxOnce(o, handle);
    expect(first).toEqual({ handled: [], pending: 1 });
    expect(list('processing', COUNTY)).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 1100));
    const second = await scanInboxOnce(o, handle);
    expect(second.pending).toBe(0);
    expect(second.handled).toMatchObject([{ county: COUNTY, name: 'busy.csv', status: 'done', recovered: true }]);
    expect(calls).toHaveLength(1);
    expect(list('processing', COUNTY)).toEqual([]);
  });

  it('does not take over a claim whose owner is still working on it (the lease is kept fresh)', async () => {
    const { handle, calls } = ledgerHandler(2000);
    const o = opts({ settleMs: 0, leaseMs: 600 });
    const a = startWatcher(o, handle);
    try {
      drop(COUNTY, 'slow.csv', 'takes a while');
      await waitFor(() => calls.length === 1);
      // A second watcher arrives while the first is still busy, for three lease periods.
      const b = startWatcher(o, handle);
      try {
        await waitFor(() => list('archive', COUNTY).length === 1);
        await new Promise((r) => setTimeout(r, 400));
      } finally {
        await b.stop();
      }
    } finally {
      await a.stop();
    }
    expect(calls.map((c) => c.name)).toEqual(['slow.csv']);
    expect(list('processing', COUNTY)).toEqual([]);
  });

  it('keeps a file whose handler hit a transient error in processing/ and retries it after the lease', async () => {
    const { handle, calls } = ledgerHandler();
    let failures = 0;
    const flaky = async (f: ClaimedFile): Promise<InboxResult> => {
      if (failures++ === 0)
        throw new GuijiError('transient', 'DB_UNAVAILABLE', '数据库暂时不可用', 'database unavailable');
      return handle(f);
    };
    const w = startWatcher(opts({ settleMs: 0, leaseMs: 500 }), flaky);
    try {
      drop(COUNTY, 'retry.csv', 'retry me');
      await waitFor(() => failures === 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(list('processing', COUNTY).filter((n) => n.endsWith('__retry.csv'))).toHaveLength(1);
      expect(list('failed')).toEqual([]);
      await waitFor(() => list('archive', COUNTY).length === 1);
    } finally {
      await w.stop();
    }
    expect(failures).toBe(2);
    expect(calls.map((c) => c.name)).toEqual(['retry.csv']);
    expect(list('failed')).toEqual([]);
    expect(logs.some((l) => l.level === 'warn' && l.msg?.includes('transient'))).toBe(true);
  });

  it('finishes the file in hand when aborted, then stops claiming', async () => {
    const { handle, calls } = ledgerHandler(400);
    const w = startWatcher(opts({ settleMs: 0 }), handle);
    drop(COUNTY, 'one.csv', '1');
    await waitFor(() => calls.length === 1);
    drop(COUNTY, 'two.csv', '2');
    await w.stop();
    expect(list('archive', COUNTY)).toHaveLength(1);
    expect(list(COUNTY)).toEqual(['two.csv']);
    expect(calls.map((c) => c.name)).toEqual(['one.csv']);
  });
});

describe('names and folders', () => {
  it('keeps odd names safe: Chinese and spaces kept, unsafe or too long names stored in a safe form with a reason', async () => {
    const long = `${'长'.repeat(80)}.csv`; // 244 bytes: fits the disk, not with a claim or batch prefix
    const names = ['五常市 行政处罚 2024年.csv', 'a..b.csv', 'back\\slash.csv', 'tab\tname.csv', long, '..x'];
    for (const [i, name] of names.entries()) drop(COUNTY, name, `content ${i}`);
    const gbkName = iconv.encode('行政许可.csv', 'gbk');
    writeFileSync(Buffer.concat([Buffer.from(path.join(root, COUNTY) + path.sep), gbkName]), 'gbk named');

    const { handle, calls } = ledgerHandler();
    const report = await scanInboxOnce(opts({ settleMs: 0, concurrency: 2 }), handle);
    expect(report.pending).toBe(0);
    expect(calls.map((c) => c.name).sort()).toEqual([...names.slice(0, 5), '行政许可.csv'].sort());
    expect(report.handled.every((h) => h.status === 'done')).toBe(true);

    // '..x' is a hidden file: ignored, left where it was.
    expect(list(COUNTY)).toEqual(['..x']);
    const archived = list('archive', COUNTY);
    for (const entry of archived) {
      expect(entry).not.toMatch(/[\\/\p{Cc}]|\.\./u);
      expect(Buffer.byteLength(entry)).toBeLessThanOrEqual(255);
    }
    const stored = archived.filter((n) => !n.endsWith('.reason.txt')).map((n) => n.slice(n.indexOf('__') + 2));
    const cut = stored.find((n) => n.startsWith('长')) ?? '';
    expect(cut).toMatch(/^长+\.csv$/);
    expect(stored.filter((n) => n !== cut).sort()).toEqual(
      ['五常市 行政处罚 2024年.csv', 'a.b.csv', 'back_slash.csv', 'tab_name.csv', '行政许可.csv'].sort(),
    );
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(160);

    const reasonFor = (storedName: string) => {
      const entry = archived.find((n) => n.endsWith(`__${storedName}.reason.txt`));
      return entry === undefined ? undefined : readFileSync(path.join(root, 'archive', COUNTY, entry), 'utf8');
    };
    expect(reasonFor('五常市 行政处罚 2024年.csv')).toBeUndefined();
    expect(reasonFor('a.b.csv')).toContain('原文件名“a..b.csv”含有不能用于保存的字符');
    expect(reasonFor('a.b.csv')).toContain('已改名为“a.b.csv”保存');
    expect(reasonFor('tab_name.csv')).toContain('原文件名“tab\\u0009name.csv”');
    expect(reasonFor(cut)).toContain(`原文件名“${long}”`);
    expect(reasonFor('行政许可.csv')).toContain('原文件名不是 UTF-8 编码（按 GB18030 识别为“行政许可.csv”）');

    // Nothing was written anywhere but archive/<county>/ (and the processing/ folder, now empty).
    expect(list()).toEqual([COUNTY, 'archive', 'processing']);
    expect(list('archive')).toEqual([COUNTY]);
    expect(list('processing', COUNTY)).toEqual([]);
  });

  it('ignores non-county folders, lock and partial files and subfolders; a file in the root goes to failed/', async () => {
    drop('notes', 'x.csv', 'n');
    drop('2301', 'x.csv', 'five digits');
    for (const name of [
      '~$处罚.xlsx',
      '.~lock.处罚.xlsx#',
      'x.tmp',
      'x.PART',
      'x.crdownload',
      'Thumbs.db',
      '.hidden',
    ]) {
      drop(COUNTY, name, 'ignored');
    }
    drop(path.join(COUNTY, 'sub'), 'x.csv', 'in a subfolder');
    drop('.', '全市汇总.csv', 'no county');
    drop('.', '~$全市汇总.xlsx', 'owner file');

    const handle = async (): Promise<InboxResult> => {
      throw new Error('no file here should reach the handler');
    };
    const o = opts({ settleMs: 0 });
    const state = new InboxScanState();
    const first = await scanInboxOnce(o, handle, { state });
    const second = await scanInboxOnce(o, handle, { state });

    expect(first.handled).toMatchObject([{ county: null, name: '全市汇总.csv', status: 'failed', batchIds: [] }]);
    expect(second.handled).toEqual([]);
    expect(list('failed')).toEqual(['全市汇总.csv', '全市汇总.csv.reason.txt']);
    const reason = readFileSync(path.join(root, 'failed', '全市汇总.csv.reason.txt'), 'utf8');
    expect(reason).toContain('无法确定属于哪个县区');
    expect(reason).toContain('请把文件放进以本县区行政区划代码命名的文件夹');
    expect(list()).toEqual(['2301', COUNTY, 'failed', 'notes', 'processing', '~$全市汇总.xlsx']);
    expect(list(COUNTY)).toEqual(
      ['.hidden', '.~lock.处罚.xlsx#', 'Thumbs.db', 'sub', 'x.PART', 'x.crdownload', 'x.tmp', '~$处罚.xlsx'].sort(),
    );
    expect(list('notes')).toEqual(['x.csv']);
    expect(list('2301')).toEqual(['x.csv']);
    expect(list('archive')).toEqual([]);

    // One log line per ignored folder, not one per scan.
    const ignored = logs.filter((l) => l.msg?.startsWith('inbox: ignored'));
    expect(ignored.map((l) => l.fields.folder ?? l.fields.file).sort()).toEqual(['2301', 'notes', 'sub']);
  });

  it('refuses an inbox folder that does not exist', async () => {
    const o = opts({ root: path.join(root, 'missing') });
    await expect(scanInboxOnce(o, async () => ({ status: 'done', batchIds: [] }))).rejects.toMatchObject({
      code: 'INBOX_NOT_FOUND',
      kind: 'config',
    });
    await expect(
      watchInbox(o, async () => ({ status: 'done', batchIds: [] }), new AbortController().signal),
    ).rejects.toMatchObject({
      code: 'INBOX_NOT_FOUND',
    });
  });
});
