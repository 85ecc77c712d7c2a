import { setTimeout as sleep } from 'node:timers/promises';
import { assertInboxRoot, inboxSettings } from './inbox-settings.js';
import { InboxScanState, scanInboxOnce } from './scan-inbox.js';
import type { InboxHandler, InboxOptions } from './types.js';

/**
 * Watches a county inbox until `signal` aborts, polling every `pollMs` (not fs.watch: it misses
 * events on network shares). Layout under `opts.root`:
 * - `<county>/` (6-digit division code): clerks drop files here;
 * - `processing/<county>/<claimId>__<name>` + `<claimId>.lease`: claimed files (claim = atomic `rename`);
 * - `archive/<county>/<batchId>__<name>` and `failed/<county>/<name>` (+ `<name>.reason.txt`).
 *
 * Everything under the root must be on one filesystem (rename is atomic only there); then any
 * number of watchers, on any number of machines, may share it and each file is handled once.
 * Files left in processing/ by a crashed run are handled first, once their lease (`leaseMs`)
 * has expired. A failing handler or scan never stops the loop. Resolves after the abort, once the
 * files already claimed are finished. Throws a config error at once if the root does not exist.
 */
export async function watchInbox(opts: InboxOptions, handle: InboxHandler, signal: AbortSignal): Promise<void> {
  const settings = inboxSettings(opts);
  await assertInboxRoot(settings.root);
  const log = settings.logger;
  const state = new InboxScanState();
  const { root, settleMs, pollMs, concurrency, leaseMs } = settings;
  log.info({ root, settleMs, pollMs, concurrency, leaseMs }, 'inbox: watching');
  let lastProblem: string | undefined;
  while (!signal.aborted) {
    try {
      await scanInboxOnce(opts, handle, { state, signal });
      lastProblem = undefined;
    } catch (e) {
      // e.g. the share went away: say so once, keep polling until it is back.
      const problem = e instanceof Error ? e.message : String(e);
      if (problem !== lastProblem) log.error({ err: e }, 'inbox: scan failed; retrying every poll');
      lastProblem = problem;
    }
    await sleep(pollMs, undefined, { signal }).catch(() => undefined);
  }
  log.info({ root }, 'inbox: stopped');
}
