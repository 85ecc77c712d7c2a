import type { Knex } from 'knex';
import { writeAudit } from './audit.js';
import { badRequest, notFound } from './errors.js';
import { randomSecret, sha256Hex } from './secrets.js';
import type { Actor, User } from './types.js';
import { toUser } from './users.js';

/** Every API token starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const TOKEN_PREFIX = 'gj_';

export interface TokenInfo {
  id: number;
  userId: number;
  username: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const asDate = (v: unknown) => (v == null ? null : new Date(v as string));

/**
 * Creates an API token for a user. The plaintext is returned this once; only its SHA-256 is stored.
 * The audit row names the token, never its value.
 */
export async function createToken(
  db: Knex,
  user: User,
  name: string,
  actor: Actor | string,
): Promise<{ id: number; name: string; token: string }> {
  const label = typeof name === 'string' ? name.trim() : '';
  if (label.length === 0 || label.length > 100)
    throw badRequest(
      'BAD_TOKEN_NAME',
      '请给令牌起一个名字（1–100 个字符），说明它的用途。',
      'token name must be 1-100 chars',
    );
  const token = `${TOKEN_PREFIX}${randomSecret(32)}`;
  return db.transaction(async (trx) => {
    const [row] = (await trx('api_tokens')
      .insert({ user_id: user.id, name: label, token_hash: sha256Hex(token) })
      .returning(['id'])) as Array<{ id: string | number }>;
    const id = Number(row?.id);
    await writeAudit(trx, {
      actor,
      action: 'create',
      entity: 'token',
      entityId: id,
      county: user.county,
      newValue: { name: label, userId: user.id, username: user.username },
    });
    return { id, name: label, token };
  });
}

/** The user an API token acts for (token not revoked, user not disabled), noting when it was used. */
export async function resolveToken(db: Knex, token: string, now: Date): Promise<User | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const row = (await db('api_tokens as t')
    .join('users as u', 'u.id', 't.user_id')
    .where('t.token_hash', sha256Hex(token))
    .whereNull('t.revoked_at')
    .where('u.disabled', false)
    .first('t.id as token_id', 'u.id', 'u.username', 'u.display_name', 'u.role', 'u.county', 'u.disabled')) as
    | Record<string, unknown>
    | undefined;
  if (!row) return null;
  await db('api_tokens')
    .where('id', row.token_id as number)
    .update({ last_used_at: now });
  return toUser(row);
}

/** Tokens of one user (all users' for `userId` null), newest first; never the secret. */
export async function listTokens(db: Knex, userId: number | null): Promise<TokenInfo[]> {
  let q = db('api_tokens as t')
    .join('users as u', 'u.id', 't.user_id')
    .select('t.id', 't.user_id', 'u.username', 't.name', 't.created_at', 't.last_used_at', 't.revoked_at')
    .orderBy('t.id', 'desc');
  if (userId !== null) q = q.where('t.user_id', userId);
  const rows = (await q) as Record<string, unknown>[];
  return rows.map((r) => ({
    id: Number(r.id),
    userId: Number(r.user_id),
    username: r.username as string,
    name: r.name as string,
    createdAt: new Date(r.created_at as string),
    lastUsedAt: asDate(r.last_used_at),
    revokedAt: asDate(r.revoked_at),
  }));
}

/**
 * Revokes a token. A user may revoke its own tokens, an admin anyone's; for anybody else the token does
 * not exist (404). Revoking twice is a no-op.
 */
export async function revokeToken(
  db: Knex,
  id: number,
  by: User,
  actor: Actor | string,
  now: Date,
): Promise<TokenInfo> {
  return db.transaction(async (trx) => {
    const row = (await trx('api_tokens as t')
      .join('users as u', 'u.id', 't.user_id')
      .where('t.id', id)
      .first(
        't.id',
        't.user_id',
        'u.username',
        'u.county',
        't.name',
        't.created_at',
        't.last_used_at',
        't.revoked_at',
      )) as Record<string, unknown> | undefined;
    if (!row || (by.role !== 'admin' && Number(row.user_id) !== by.id)) throw notFound('令牌', id);
    const info: TokenInfo = {
      id: Number(row.id),
      userId: Number(row.user_id),
      username: row.username as string,
      name: row.name as string,
      createdAt: new Date(row.created_at as string),
      lastUsedAt: asDate(row.last_used_at),
      revokedAt: asDate(row.revoked_at),
    };
    if (info.revokedAt) return info;
    await trx('api_tokens').where('id', id).update({ revoked_at: now });
    await writeAudit(trx, {
      actor,
      action: 'revoke',
      entity: 'token',
      entityId: id,
      county: (row.county as string | null) ?? null,
      oldValue: { revoked: false },
      newValue: { revoked: true },
      detail: { name: info.name, username: info.username },
    });
    return { ...info, revokedAt: now };
  });
}
