import type { Knex } from 'knex';
import { writeAudit } from './audit.js';
import { randomSecret, sha256Hex } from './secrets.js';
import type { User } from './types.js';
import { toUser } from './users.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'guiji_session';
/** A session ends 12 hours after login (a working day), whatever the activity. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface NewSession {
  /** The cookie value: shown to the browser once, only its SHA-256 is stored. */
  cookieValue: string;
  csrfToken: string;
  expiresAt: Date;
}

export interface ResolvedSession {
  user: User;
  csrfToken: string;
  expiresAt: Date;
}

/** Opens a session for a user who just proved its password; the clock decides when it ends. */
export async function createSession(db: Knex, user: User, now: Date): Promise<NewSession> {
  const cookieValue = randomSecret(32);
  const csrfToken = randomSecret(32);
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await db.transaction(async (trx) => {
    // Expired sessions of this user are dead weight: drop them while we are here.
    await trx('sessions').where('user_id', user.id).where('expires_at', '<=', now).del();
    await trx('sessions').insert({
      id_hash: sha256Hex(cookieValue),
      user_id: user.id,
      csrf_token: csrfToken,
      created_at: now,
      expires_at: expiresAt,
    });
    await writeAudit(trx, { actor: user.username, action: 'login', entity: 'session', entityId: user.id });
  });
  return { cookieValue, csrfToken, expiresAt };
}

/** The live session a cookie names: not expired, user not disabled; null otherwise. */
export async function resolveSession(db: Knex, cookieValue: string, now: Date): Promise<ResolvedSession | null> {
  if (!cookieValue) return null;
  const row = (await db('sessions as s')
    .join('users as u', 'u.id', 's.user_id')
    .where('s.id_hash', sha256Hex(cookieValue))
    .where('s.expires_at', '>', now)
    .where('u.disabled', false)
    .first(
      'u.id',
      'u.username',
      'u.display_name',
      'u.role',
      'u.county',
      'u.disabled',
      's.csrf_token',
      's.expires_at',
    )) as Record<string, unknown> | undefined;
  if (!row) return null;
  return { user: toUser(row), csrfToken: row.csrf_token as string, expiresAt: new Date(row.expires_at as string) };
}

/** Ends a session (logout). Returns whether one was deleted. */
export async function deleteSession(db: Knex, cookieValue: string, actor?: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    const gone = (await trx('sessions').where('id_hash', sha256Hex(cookieValue)).del().returning('user_id')) as Array<{
      user_id: string | number;
    }>;
    const first = gone[0];
    if (first && actor)
      await writeAudit(trx, { actor, action: 'logout', entity: 'session', entityId: Number(first.user_id) });
    return gone.length > 0;
  });
}
