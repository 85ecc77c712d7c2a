export { InboxScanState, type ScanControl, scanInboxOnce } from './scan-inbox.js';
export type {
  ClaimedFile,
  InboxHandledFile,
  InboxHandler,
  InboxOptions,
  InboxResult,
  InboxScanReport,
} from './types.js';
export { watchInbox } from './watch-inbox.js';
