// The migrations the runner applies, in order (rewritten by scripts/gen-migration.mjs; keep it in step with the files).
import type { WarehouseMigration } from '../src/warehouse/migrate.js';
import * as m001 from './001_ledger.js';
import * as m002 from './002_admin_penalty.js';
import * as m003 from './003_admin_license.js';
import * as m004 from './004_distributed.js';
import * as m005 from './005_review.js';
import * as m006 from './006_rejection_storage.js';
import * as m007 from './007_batch_owner.js';
import * as m008 from './008_key_collation.js';
import * as m009 from './009_staging_batch_collation.js';
import * as m010 from './010_chunk_key_prints.js';

export const migrations: readonly WarehouseMigration[] = [
  { name: '001_ledger', up: m001.up, down: m001.down },
  { name: '002_admin_penalty', up: m002.up, down: m002.down },
  { name: '003_admin_license', up: m003.up, down: m003.down },
  { name: '004_distributed', up: m004.up, down: m004.down },
  { name: '005_review', up: m005.up, down: m005.down },
  { name: '006_rejection_storage', up: m006.up, down: m006.down },
  { name: '007_batch_owner', up: m007.up, down: m007.down },
  { name: '008_key_collation', up: m008.up, down: m008.down },
  { name: '009_staging_batch_collation', up: m009.up, down: m009.down },
  { name: '010_chunk_key_prints', up: m010.up, down: m010.down },
];
