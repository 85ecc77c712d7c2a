import type { FastifyInstance } from 'fastify';
import { assertAdmin } from '../../review/access.js';
import { notFound } from '../../review/errors.js';
import { createToken, listTokens, revokeToken } from '../../review/tokens.js';
import { ROLES } from '../../review/types.js';
import { addUser, disableUser, getUser, listUsers, MIN_PASSWORD_LENGTH, type NewUser } from '../../review/users.js';
import { requireUser } from '../auth.js';
import type { WebDeps } from '../deps.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;

const newUserBody = {
  type: 'object',
  required: ['username', 'password', 'role'],
  additionalProperties: false,
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 64 },
    password: { type: 'string', minLength: MIN_PASSWORD_LENGTH, maxLength: 1000 },
    role: { type: 'string', enum: [...ROLES] },
    county: { type: ['string', 'null'] },
    displayName: { type: ['string', 'null'], maxLength: 100 },
  },
} as const;

/** Users (admin only) and API tokens (one's own; an admin may revoke anyone's). Under /api. */
export async function userRoutes(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const db = deps.ctx.db.knex;

  app.get('/users', async (request) => {
    assertAdmin(requireUser(request));
    return { items: await listUsers(db) };
  });

  app.post('/users', { schema: { body: newUserBody } }, async (request, reply) => {
    assertAdmin(requireUser(request));
    const user = await addUser(db, request.body as NewUser, request.actor);
    return reply.status(201).send({ user });
  });

  app.post('/users/:id/disable', { schema: { params: idParams } }, async (request) => {
    assertAdmin(requireUser(request));
    const { id } = request.params as { id: number };
    return { user: await disableUser(db, id, request.actor) };
  });

  app.get('/tokens', async (request) => ({ items: await listTokens(db, requireUser(request).id) }));

  app.post(
    '/tokens',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', minLength: 1, maxLength: 100 } },
        },
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const { name } = request.body as { name: string };
      const created = await createToken(db, user, name, request.actor);
      return reply.status(201).send(created);
    },
  );

  app.delete('/tokens/:id', { schema: { params: idParams } }, async (request) => {
    const user = requireUser(request);
    const { id } = request.params as { id: number };
    return { token: await revokeToken(db, id, user, request.actor, deps.ctx.clock.now()) };
  });

  // Kept for symmetry with the CLI: an admin may look a user up by id.
  app.get('/users/:id', { schema: { params: idParams } }, async (request) => {
    assertAdmin(requireUser(request));
    const { id } = request.params as { id: number };
    const user = await getUser(db, id);
    if (!user) throw notFound('用户', id);
    return { user };
  });
}
