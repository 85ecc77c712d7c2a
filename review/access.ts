import { forbidden, notFound } from './errors.js';
import type { User } from './types.js';

/** The counties a user may see: null = all (admin, steward); a clerk sees only its own. */
export function countyScope(user: User): string | null {
  return user.role === 'clerk' ? user.county : null;
}

/** True when the user may see a record of this county. */
export function canSeeCounty(user: User, county: string | null): boolean {
  const scope = countyScope(user);
  return scope === null || (county !== null && county === scope);
}

/** Throws 404 (not 403: a clerk must not learn that another county's id exists) when not visible. */
export function assertVisible(user: User, county: string | null, what: string, id: string | number): void {
  if (!canSeeCounty(user, county)) throw notFound(what, id);
}

/** Discarding a rejected row (and managing users) is for stewards and admins, never clerks. */
export function assertSteward(user: User): void {
  if (user.role === 'clerk') throw forbidden('区县填报员不能执行此操作，请联系数据管理员。', 'clerks may not do this');
}

export function assertAdmin(user: User): void {
  if (user.role !== 'admin') throw forbidden('只有系统管理员可以执行此操作。', 'admins only');
}
