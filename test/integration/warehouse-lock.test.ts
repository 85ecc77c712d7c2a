import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rolldown } from 'rolldown';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isGuijiError } from '../../src/errors.js';
import { openWarehouse } from '../../src/warehouse/open.js';

// The lock is between processes, so the second opener must be a real second process. Node 20 cannot run
// TypeScript, so the real lock module is bundled (rolldown, which vitest's vite already brings) for it.
let dir: string;
let lockModule: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'guiji-lock-'));
  lockModule = path.join(dir, 'lock.mjs');
  const bundle = await rolldown({ input: path.resolve('src/warehouse/lock.ts'), platform: 'node', logLevel: 'silent' });
  await bundle.write({ file: lockModule, format: 'esm' });
  await bundle.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `acquireHomeLock(home)` in a child process; `then` is 'exit' (normal exit) or 'kill' (SIGKILL, lock left behind). */
function childAcquire(
  home: string,
  then: 'exit' | 'kill',
): { result: string; code: string | undefined; zh: string | undefined } {
  const script = path.join(dir, `child-${then}.mjs`);
  writeFileSync(
    script,
    `import { acquireHomeLock } from ${JSON.stringify(lockModule)};
try { acquireHomeLock(process.argv[2]); console.log(JSON.stringify({ result: 'acquired' })); }
catch (e) { console.log(JSON.stringify({ result: 'refused', code: e.code, zh: e.zh })); }
${then === 'kill' ? "process.kill(process.pid, 'SIGKILL');" : ''}`,
  );
  const r = spawnSync(process.execPath, [script, home], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(line);
}

it('a second process is refused while the embedded warehouse is open, and gets it once closed', async () => {
  const home = path.join(dir, 'home1');
  const wh = await openWarehouse({ home });
  try {
    const second = childAcquire(home, 'exit');
    expect(second.result).toBe('refused');
    expect(second.code).toBe('WAREHOUSE_LOCKED');
    expect(second.zh).toContain(`内置数据仓库正被另一个 guiji 进程使用（PID ${process.pid}）`);
  } finally {
    await wh.close();
  }
  expect(childAcquire(home, 'exit').result).toBe('acquired');
  // The child exited normally and released it: we can open again.
  const again = await openWarehouse({ home });
  await again.close();
});

it('a second opener in the same process is refused too', async () => {
  const home = path.join(dir, 'home2');
  const wh = await openWarehouse({ home });
  try {
    const err = await openWarehouse({ home }).catch((e: unknown) => e);
    expect(isGuijiError(err) && err.code).toBe('WAREHOUSE_LOCKED');
  } finally {
    await wh.close();
  }
});

it('the lock of a killed process is taken over', async () => {
  const home = path.join(dir, 'home3');
  expect(childAcquire(home, 'kill').result).toBe('acquired');
  const wh = await openWarehouse({ home });
  const r = await wh.knex.raw('select 1 as one');
  expect(r.rows[0].one).toBe(1);
  // and while we hold it, others are refused again
  expect(childAcquire(home, 'exit').code).toBe('WAREHOUSE_LOCKED');
  await wh.close();
});
