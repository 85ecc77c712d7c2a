import type { Actor, User } from './types.js';

/**
 * The user whose scope an actor acts in: the page's user, or — for a command run on the server, which
 * has no user — every county.
 */
export function actingUser(actor: Actor): User {
  return actor.user ?? { id: 0, username: actor.name, displayName: null, role: 'admin', county: null, disabled: false };
}
