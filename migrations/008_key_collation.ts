import type { Knex } from 'knex';

/**
 * Natural keys compare byte by byte (COLLATE "C"). They are identifiers, never sorted for people; under
 * the database's collation (often zh_CN.UTF-8 on a provincial server, or C.UTF-8, both compared through
 * the C library's strcoll) every primary-key probe and insert of a merge pays for a linguistic comparison.
 * Equality is the same under both, so no key changes meaning; the indexes on record_key are rebuilt.
 */
const TABLES = [
  'admin_penalty',
  'admin_penalty_history',
  'admin_penalty_staging',
  'admin_license',
  'admin_license_history',
  'admin_license_staging',
];

async function setCollation(knex: Knex, collation: string): Promise<void> {
  for (const t of TABLES) {
    await knex.raw(`ALTER TABLE "${t}" ALTER COLUMN record_key TYPE text COLLATE "${collation}"`);
  }
}

export async function up(knex: Knex): Promise<void> {
  await setCollation(knex, 'C');
}

export async function down(knex: Knex): Promise<void> {
  await setCollation(knex, 'default');
}
