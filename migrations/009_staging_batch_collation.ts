import type { Knex } from 'knex';

/**
 * The staging tables' batch_id compares byte by byte (COLLATE "C"), as record_key does since 008. It leads
 * the (batch_id, row_number) index that every COPY into staging maintains; under the database's collation
 * each insert into that index compared batch ids through strcoll. Measured with `psql \copy` of 984,959
 * staged rows (bench/CHOICES.md): 4.5–5.0 s → 4.3 s, against 3.4–3.9 s with no index. Batch ids are ASCII,
 * so nothing changes order or meaning; the index is rebuilt (staging is empty between batches).
 */
const TABLES = ['admin_penalty_staging', 'admin_license_staging'];

async function setCollation(knex: Knex, collation: string): Promise<void> {
  for (const t of TABLES) {
    await knex.raw(`ALTER TABLE "${t}" ALTER COLUMN batch_id TYPE text COLLATE "${collation}"`);
  }
}

export async function up(knex: Knex): Promise<void> {
  await setCollation(knex, 'C');
}

export async function down(knex: Knex): Promise<void> {
  await setCollation(knex, 'default');
}
