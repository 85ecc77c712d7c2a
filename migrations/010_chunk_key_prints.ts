import type { Knex } from 'knex';

/**
 * A distributed chunk keeps the key prints of its staged rows ([row number, print] as little-endian int32
 * pairs, pipelines/key-index.ts), written with the chunk. The merge then finds the batch's repeated keys
 * from them instead of grouping every staged row by key. NULL (a chunk done before this migration):
 * the merge groups every staged row, as before.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE batch_chunks ADD COLUMN key_prints bytea');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE batch_chunks DROP COLUMN key_prints');
}
