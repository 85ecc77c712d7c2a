/**
 * The distributed batch flow (DESIGN.md §1, issue 3): submit → collect (split a source into chunk files)
 * → process each chunk → finalize (merge, ledger). These functions keep their state in PostgreSQL and
 * their data in the spool; they do not know BullMQ — the caller passes `enqueue`, so any transport
 * (BullMQ workers, a test driving them by hand) can run them. Every step is idempotent.
 */
import type { CatalogSet } from '../../src/catalog/load.js';
import type { Clock } from '../../src/clock.js';
import type { GuijiConfig } from '../../src/config.js';
import type { ReferenceData } from '../../src/pipeline.js';
import type { SheetEvent } from '../../src/source.js';
import type { Spool } from '../../src/spool.js';
import type { Logger } from '../../src/types.js';
import type { Warehouse } from '../../src/warehouse/open.js';
import type { IngestRequest } from '../../src/warehouse/requests.js';

/** How the flow asks for its next steps to run (deterministic ids: asking twice is harmless). */
export interface Enqueue {
  collect(requestId: string): Promise<void>;
  chunk(batchId: string, chunkNo: number): Promise<void>;
  finalize(batchId: string): Promise<void>;
}

/** A sync run's rows, as sheets (one), plus the cursor the run reaches. */
export interface SyncOpening {
  events: AsyncIterable<SheetEvent>;
  /** The cursor window's upper bound; committed with the batch when it is done. */
  upTo: () => string | null;
  close(): Promise<void>;
}

export interface FlowDeps {
  config: GuijiConfig;
  warehouse: Warehouse;
  catalogs: CatalogSet;
  reference: ReferenceData;
  clock: Clock;
  logger: Logger;
  spool: Spool;
  enqueue: Enqueue;
  /** Who is working (host:pid), stored with each chunk it did. */
  worker: string;
  /** Opens the source of a sync request (given by the caller: pipelines/ need not know each connector). */
  openSync?: (req: IngestRequest) => Promise<SyncOpening>;
}
