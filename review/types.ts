/** Who is asking: every review call receives the user it acts for (no hidden globals). */
export type Role = 'admin' | 'steward' | 'clerk';

export const ROLES: readonly Role[] = ['admin', 'steward', 'clerk'];

export interface User {
  id: number;
  username: string;
  displayName: string | null;
  role: Role;
  /** The county a clerk belongs to (division code); null for stewards and admins (all counties). */
  county: string | null;
  disabled: boolean;
}

/** The actor written to the audit log: a user of the page, a token's owner, or a command-line operator. */
export interface Actor {
  /** Username, or `cli:<os user>` for a command run on the server. */
  name: string;
  user: User | null;
}
