import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { expect, it } from 'vitest';
import { ownerMayBeAlive, processOwner } from '../../src/owner.js';

it('names this process as host:pid', () => {
  expect(processOwner()).toBe(`${hostname()}:${process.pid}`);
});

it('a process of this machine that has ended is gone; this one, another machine’s, and odd names are not', () => {
  const ended = spawnSync(process.execPath, ['-e', '0']).pid as number;
  expect(ownerMayBeAlive(`${hostname()}:${ended}`)).toBe(false);
  expect(ownerMayBeAlive(processOwner())).toBe(true);
  expect(ownerMayBeAlive(`${hostname()}:${process.ppid}`)).toBe(true);
  expect(ownerMayBeAlive(`some-other-host:${ended}`)).toBe(true);
  expect(ownerMayBeAlive('no-pid-here')).toBe(true);
  expect(ownerMayBeAlive(`${hostname()}:zero`)).toBe(true);
});
