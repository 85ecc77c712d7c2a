import argon2 from 'argon2';
import type { Knex } from 'knex';
import { writeAudit } from './audit.js';
import { badRequest, conflict, notFound } from './errors.js';
import { type Actor, ROLES, type Role, type User } from './types.js';

/** Shortest password accepted (the CLI and the API both refuse shorter ones). */
export const MIN_PASSWORD_LENGTH = 8;

const USERNAME = /^[\p{L}\p{N}_.@-]{1,64}$/u;
const COUNTY = /^[1-9][0-9]{5}$/;

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  /** Division code; required for a clerk, refused for the other roles (they see every county). */
  county?: string | null;
  displayName?: string | null;
}

/** argon2id (memory-hard) with the library's defaults: 64 MiB, 3 passes. */
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id });
}

export function toUser(r: Record<string, unknown>): User {
  return {
    id: Number(r.id),
    username: r.username as string,
    displayName: (r.display_name as string | null) ?? null,
    role: r.role as Role,
    county: (r.county as string | null) ?? null,
    disabled: r.disabled === true,
  };
}

const USER_COLUMNS = ['id', 'username', 'display_name', 'role', 'county', 'disabled'] as const;

function checkNewUser(u: NewUser): void {
  if (typeof u.username !== 'string' || !USERNAME.test(u.username))
    throw badRequest(
      'BAD_USERNAME',
      '用户名只能包含字母、数字和 _ . @ -，最长 64 个字符。',
      'username must be 1-64 letters, digits or _ . @ -',
    );
  if (!ROLES.includes(u.role))
    throw badRequest('BAD_ROLE', '角色只能是 admin、steward 或 clerk。', `unknown role ${String(u.role)}`);
  checkPassword(u.password);
  if (u.role === 'clerk') {
    if (!u.county || !COUNTY.test(u.county))
      throw badRequest(
        'BAD_COUNTY',
        '区县填报员必须指定 6 位区县代码（如 230184）。',
        'a clerk needs a 6-digit county code',
      );
  } else if (u.county) {
    throw badRequest(
      'BAD_COUNTY',
      '只有区县填报员（clerk）属于某个区县；管理员和数据管理员可以看到所有区县，不要指定区县。',
      'only clerks belong to a county',
    );
  }
}

export function checkPassword(password: unknown): void {
  if (typeof password !== 'string' || [...password].length < MIN_PASSWORD_LENGTH)
    throw badRequest(
      'WEAK_PASSWORD',
      `密码至少需要 ${MIN_PASSWORD_LENGTH} 个字符。`,
      `password shorter than ${MIN_PASSWORD_LENGTH} characters`,
    );
}

/** Adds a user (password hashed with argon2id) and audits it; the password itself is never logged. */
export async function addUser(db: Knex, input: NewUser, actor: Actor | string): Promise<User> {
  checkNewUser(input);
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (trx) => {
    const taken = await trx('users').where('username', input.username).first('id');
    if (taken)
      throw conflict('USERNAME_TAKEN', `用户名 ${input.username} 已存在。`, `username ${input.username} exists`);
    const [row] = (await trx('users')
      .insert({
        username: input.username,
        display_name: input.displayName?.trim() || null,
        password_hash: passwordHash,
        role: input.role,
        county: input.role === 'clerk' ? input.county : null,
      })
      .returning([...USER_COLUMNS])) as Record<string, unknown>[];
    const user = toUser(row as Record<string, unknown>);
    await writeAudit(trx, {
      actor,
      action: 'add',
      entity: 'user',
      entityId: user.id,
      county: user.county,
      newValue: { username: user.username, displayName: user.displayName, role: user.role, county: user.county },
    });
    return user;
  });
}

export async function listUsers(db: Knex): Promise<User[]> {
  const rows = (await db('users')
    .select([...USER_COLUMNS])
    .orderBy('username')) as Record<string, unknown>[];
  return rows.map(toUser);
}

/** A user by id (number) or username (string); null when there is none. */
export async function getUser(db: Knex | Knex.Transaction, who: number | string): Promise<User | null> {
  const row = (await db('users')
    .where(typeof who === 'number' ? 'id' : 'username', who)
    .first([...USER_COLUMNS])) as Record<string, unknown> | undefined;
  return row ? toUser(row) : null;
}

/** How many users exist (the server warns at start-up when there are none). */
export async function countUsers(db: Knex): Promise<number> {
  const row = (await db('users').count({ n: '*' }).first()) as { n: string | number } | undefined;
  return Number(row?.n ?? 0);
}

/**
 * Disables a user: it can no longer log in, its sessions are deleted and its API tokens stop working
 * (they are checked against the user on every request). Idempotent; audited when it changes something.
 */
export async function disableUser(db: Knex, who: number | string, actor: Actor | string): Promise<User> {
  return db.transaction(async (trx) => {
    const user = await getUser(trx, who);
    if (!user) throw notFound('用户', who);
    if (user.disabled) return user;
    await trx('users').where('id', user.id).update({ disabled: true });
    const sessions = await trx('sessions').where('user_id', user.id).del();
    await writeAudit(trx, {
      actor,
      action: 'disable',
      entity: 'user',
      entityId: user.id,
      county: user.county,
      oldValue: { disabled: false },
      newValue: { disabled: true },
      detail: { username: user.username, sessionsEnded: sessions },
    });
    return { ...user, disabled: true };
  });
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks a username and password. Returns the user, or null for a wrong password, an unknown user or a
 * disabled one — all three after one argon2 verification, so the answer time does not tell which.
 */
export async function verifyLogin(db: Knex, username: string, password: string): Promise<User | null> {
  const row = (await db('users')
    .where('username', username)
    .first([...USER_COLUMNS, 'password_hash'])) as Record<string, unknown> | undefined;
  if (!row) {
    dummyHash ??= hashPassword('guiji-dummy-password-for-timing');
    await argon2.verify(await dummyHash, password).catch(() => false);
    return null;
  }
  const ok = await argon2.verify(row.password_hash as string, password).catch(() => false);
  if (!ok || row.disabled === true) return null;
  return toUser(row);
}
