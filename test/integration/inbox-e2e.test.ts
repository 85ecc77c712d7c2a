/**
 * `guiji watch` end to end, through BullMQ workers and inline: files dropped into <inbox>/<county>/ are
 * ingested for that county once they stop growing; the same bytes twice make one batch; a corrupt file
 * ends in failed/ with its reason, and the watcher keeps going.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Background, makeRig, type Rig, redisProblem, waitFor } from '../helpers/distributed.js';
import { FIXTURES } from '../helpers/ingest.js';

async function dropAndCheck(rig: Rig, watcher: Background, inbox: string) {
  const county = path.join(inbox, '230184');
  mkdirSync(county, { recursive: true });
  copyFileSync(path.join(FIXTURES, 'county', 'penalty-clean.csv'), path.join(county, '处罚 一月.csv'));
  copyFileSync(path.join(FIXTURES, 'refuse', 'penalty-saved-as-html.xlsx'), path.join(county, '坏文件.xlsx'));
  const archive = path.join(inbox, 'archive', '230184');
  const failed = path.join(inbox, 'failed', '230184');
  const list = (d: string) => (existsSync(d) ? readdirSync(d) : []);
  await waitFor(
    () => list(archive).length === 1 && list(failed).length === 2,
    60_000,
    `files placed: ${watcher.output()}`,
  );

  const k = rig.tw.wh.knex;
  const batches = (await k.raw('select id, file, county, status, total from batches')).rows;
  expect(batches).toHaveLength(1);
  expect(batches[0]).toMatchObject({ file: '处罚 一月.csv', county: '230184', status: 'done' });
  expect(list(archive)[0]).toBe(`${batches[0].id}__处罚 一月.csv`);
  const reason = list(failed).find((f) => f.endsWith('.reason.txt')) as string;
  expect(reason).toBe('坏文件.xlsx.reason.txt');
  expect(readFileSync(path.join(failed, reason), 'utf8')).toMatch(/另存为|xlsx/);

  // The same bytes again under another name: recognised, archived with a reason, not ingested again.
  copyFileSync(path.join(FIXTURES, 'county', 'penalty-clean.csv'), path.join(county, '处罚 一月（重发）.csv'));
  await waitFor(
    () => list(archive).filter((f) => !f.endsWith('.reason.txt')).length === 2,
    60_000,
    'second copy archived',
  );
  expect((await k.raw('select count(*)::int as n from batches')).rows[0].n).toBe(1);
  const note = list(archive).find((f) => f.endsWith('.reason.txt')) as string;
  expect(readFileSync(path.join(archive, note), 'utf8')).toContain(batches[0].id);
}

describe('guiji watch', () => {
  it('inline (no Redis): ingests, recognises the same bytes, fails a corrupt file and keeps going', async () => {
    const rig = await makeRig('watch-inline', { REDIS_URL: '' });
    const inbox = mkdtempSync(path.join(tmpdir(), 'guiji-inbox-'));
    try {
      const watcher = rig.start(['watch', inbox, '--settle-ms', '300', '--poll-ms', '100']);
      await dropAndCheck(rig, watcher, inbox);
      expect(await watcher.stop('SIGTERM')).toBe(0);
    } finally {
      await rig.dispose();
      rmSync(inbox, { recursive: true, force: true });
    }
  });

  it.skipIf(redisProblem !== undefined)('through BullMQ workers: the same behaviour', async () => {
    const rig = await makeRig('watch-queue');
    const inbox = mkdtempSync(path.join(tmpdir(), 'guiji-inbox-'));
    try {
      await rig.worker();
      const watcher = rig.start(['watch', inbox, '--settle-ms', '300', '--poll-ms', '100']);
      await dropAndCheck(rig, watcher, inbox);
      expect(await watcher.stop('SIGTERM')).toBe(0);
    } finally {
      await rig.dispose();
      rmSync(inbox, { recursive: true, force: true });
    }
  });
});
