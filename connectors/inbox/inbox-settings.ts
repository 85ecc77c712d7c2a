import { stat } from 'node:fs/promises';
import path from 'node:path';
import { configError } from '../../src/errors.js';
import type { Logger } from '../../src/types.js';
import type { InboxOptions } from './types.js';

/** InboxOptions with defaults applied and the root made absolute. */
export interface InboxSettings {
  root: string;
  settleMs: number;
  pollMs: number;
  concurrency: number;
  leaseMs: number;
  logger: Logger;
}

export function inboxSettings(opts: InboxOptions): InboxSettings {
  const settings = {
    root: path.resolve(opts.root),
    settleMs: opts.settleMs ?? 2000,
    pollMs: opts.pollMs ?? 1000,
    concurrency: opts.concurrency ?? 1,
    leaseMs: opts.leaseMs ?? 60_000,
    logger: opts.logger,
  };
  const bad = (name: string, value: number, min: number) => {
    if (!Number.isFinite(value) || value < min) {
      throw configError(
        'INBOX_OPTION_INVALID',
        `收件箱设置 ${name} 的值 ${value} 无效（至少为 ${min}）。`,
        `Inbox option ${name}=${value} is invalid (minimum ${min})`,
        { option: name },
      );
    }
  };
  bad('settleMs', settings.settleMs, 0);
  bad('pollMs', settings.pollMs, 1);
  bad('leaseMs', settings.leaseMs, 1);
  bad('concurrency', settings.concurrency, 1);
  if (!Number.isInteger(settings.concurrency)) bad('concurrency', Number.NaN, 1);
  return settings;
}

/** The inbox must exist: a mistyped path should fail, not quietly become a new, empty inbox. */
export async function assertInboxRoot(root: string): Promise<void> {
  const st = await stat(root).catch(() => undefined);
  if (st?.isDirectory() !== true) {
    throw configError(
      'INBOX_NOT_FOUND',
      `收件箱文件夹“${root}”不存在或不是文件夹。请检查路径，或先创建这个文件夹。`,
      `Inbox folder ${root} does not exist or is not a folder`,
      { root },
    );
  }
}
