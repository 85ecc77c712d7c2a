import type { Knex } from 'knex';

/**
 * State of distributed runs (issue 3). Redis only carries jobs; what was asked, which chunks exist and
 * which are done, and how far each sync source got live here, so unfinished work can be re-enqueued
 * after Redis loses its data.
 * - ingest_requests: one per submitted file or sync run; its batches point back to it.
 * - batches gains the request, the frozen stage context (headers, bindings, defaults, today) every
 *   worker needs to process a chunk the same way, and the number of chunks once collecting is over.
 * - batch_chunks: one per chunk (a range of rows); `done` commits with its staged rows and rejections.
 * - sync_state: per source, the cursor committed with the batch that covers it, and sync health.
 */
const UP = [
  `CREATE TABLE ingest_requests (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('file', 'sync')),
  name text NOT NULL,
  spool_path text,
  file_sha256 text,
  options jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'collecting', 'collected', 'done', 'failed')),
  error jsonb,
  skipped jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
)`,
  "CREATE INDEX ingest_requests_open_idx ON ingest_requests (created_at) WHERE status IN ('queued', 'collecting', 'collected')",
  'CREATE INDEX ingest_requests_sha_idx ON ingest_requests (file_sha256)',
  'ALTER TABLE batches ADD COLUMN request_id text REFERENCES ingest_requests (id)',
  'ALTER TABLE batches ADD COLUMN context jsonb',
  'ALTER TABLE batches ADD COLUMN chunks_total integer',
  'CREATE INDEX batches_request_idx ON batches (request_id)',
  'CREATE INDEX batches_sha_idx ON batches (file_sha256)',
  `CREATE TABLE batch_chunks (
  batch_id text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
  chunk_no integer NOT NULL,
  first_row integer NOT NULL,
  last_row integer NOT NULL,
  rows integer NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
  rejected integer NOT NULL DEFAULT 0,
  warnings integer NOT NULL DEFAULT 0,
  stage_ms jsonb NOT NULL DEFAULT '{}'::jsonb,
  worker text,
  done_at timestamptz,
  PRIMARY KEY (batch_id, chunk_no)
)`,
  "CREATE INDEX batch_chunks_pending_idx ON batch_chunks (batch_id) WHERE status = 'pending'",
  `CREATE TABLE sync_state (
  source text PRIMARY KEY,
  cursor text,
  last_attempt_at timestamptz,
  last_success_at timestamptz,
  last_batch_id text,
  last_rows integer,
  failures integer NOT NULL DEFAULT 0,
  last_error text
)`,
];

const DOWN = [
  'DROP TABLE IF EXISTS sync_state',
  'DROP TABLE IF EXISTS batch_chunks',
  'DROP INDEX IF EXISTS batches_sha_idx',
  'DROP INDEX IF EXISTS batches_request_idx',
  'ALTER TABLE batches DROP COLUMN IF EXISTS chunks_total',
  'ALTER TABLE batches DROP COLUMN IF EXISTS context',
  'ALTER TABLE batches DROP COLUMN IF EXISTS request_id',
  'DROP TABLE IF EXISTS ingest_requests',
];

export async function up(knex: Knex): Promise<void> {
  for (const s of UP) await knex.raw(s);
}

export async function down(knex: Knex): Promise<void> {
  for (const s of DOWN) await knex.raw(s);
}
