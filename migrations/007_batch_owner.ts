import type { Knex } from 'knex';

/**
 * The process that runs a batch in-process (CLI ingest, a review fix or upload in `guiji serve`), as
 * `host:pid`. A batch still 'running' whose process is gone (killed, machine crashed) is found by it and
 * closed as failed, instead of showing as running forever. Batches of the distributed executor have a
 * request instead (its reconcile loop takes over their work) and no owner.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE batches ADD COLUMN owner text');
  await knex.raw(`CREATE INDEX batches_running_owner_idx ON batches (owner) WHERE status = 'running'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS batches_running_owner_idx');
  await knex.raw('ALTER TABLE batches DROP COLUMN owner');
}
