// /admin/keys: create (the secret is in that answer only), list and revoke API keys. Admin
// routes: with no admin credential yet, loopback clients only — so the first admin key is made
// on the collector's own machine (`sluice keys create --scope admin`).
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeys } from '../access/api-keys.js';
import { SluiceError } from '../errors.js';
import type { AccessPolicy } from '../http/access.js';
import { securityHeadersHook } from '../http/security-headers.js';
import { parseKeyRequest } from './key-request.js';

export interface KeysRoutesContext {
  access: AccessPolicy;
  keys: ApiKeys;
}

export function keysRoutes(ctx: KeysRoutesContext): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.addHook('onRequest', securityHeadersHook('data'));
    app.addHook('onRequest', ctx.access.hook('admin'));

    app.post('/admin/keys', async (req, reply) => {
      const r = parseKeyRequest(req.body, Date.now());
      const created = await ctx.keys.create(r);
      return reply.code(201).header('cache-control', 'no-store').send(created);
    });

    app.get('/admin/keys', async () => ({ keys: ctx.keys.list() }));

    app.delete('/admin/keys/:id', async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      if (!(await ctx.keys.revoke(req.params.id)))
        throw new SluiceError('SLUICE_ERR_NOT_FOUND', {
          what: `key with id "${req.params.id}" (config-file tokens are removed from the config)`,
        });
      return reply.code(204).send();
    });
  };
}
