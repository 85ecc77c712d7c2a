import type { Knex } from 'knex';

/**
 * Keeps `rejections` rows narrow so the review page stays fast on a batch with 100,000 of them: the wide
 * jsonb columns (cells, values, issues) go to TOAST (compressed, out of line) as soon as a row passes
 * 128 bytes, while what the page filters and counts by (error_codes, error_fields) stays inline
 * (STORAGE PLAIN). A count or facet over a batch then reads ~25 MB of heap instead of ~170 MB; a page
 * of 50 rows detoasts only its own 50. The short columns every filter reads (batch, status, catalog,
 * county) are PLAIN too: with a 128-byte target the toaster would otherwise move even a 27-byte batch
 * id out of line, and a count over 100,000 rows then fetched 400,000 TOAST pages (350 ms instead of
 * 20 ms, measured). Applies to rows written from now on (and rows updated later).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE rejections SET (toast_tuple_target = 128)');
  await knex.raw(
    `ALTER TABLE rejections ALTER COLUMN error_codes SET STORAGE PLAIN, ALTER COLUMN error_fields SET STORAGE PLAIN,
       ALTER COLUMN batch_id SET STORAGE PLAIN, ALTER COLUMN status SET STORAGE PLAIN,
       ALTER COLUMN catalog SET STORAGE PLAIN, ALTER COLUMN county SET STORAGE PLAIN,
       ALTER COLUMN file SET STORAGE MAIN, ALTER COLUMN sheet SET STORAGE MAIN`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE rejections RESET (toast_tuple_target)');
  await knex.raw(
    `ALTER TABLE rejections ALTER COLUMN error_codes SET STORAGE EXTENDED, ALTER COLUMN error_fields SET STORAGE EXTENDED,
       ALTER COLUMN batch_id SET STORAGE EXTENDED, ALTER COLUMN status SET STORAGE EXTENDED,
       ALTER COLUMN catalog SET STORAGE EXTENDED, ALTER COLUMN county SET STORAGE EXTENDED,
       ALTER COLUMN file SET STORAGE EXTENDED, ALTER COLUMN sheet SET STORAGE EXTENDED`,
  );
}
