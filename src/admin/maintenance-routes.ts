// /admin/maintenance: list, create, read, replace and remove maintenance windows. Reading is a
// read, changing is administration (the same policy as /admin/checks); bad input is a 400
// naming the field.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../errors.js';
import type { MaintenanceSchedule } from '../health/maintenance.js';
import { readOrAdmin, type AccessPolicy } from '../http/access.js';
import { securityHeadersHook } from '../http/security-headers.js';

export interface MaintenanceRoutesContext {
  access: AccessPolicy;
  maintenance: MaintenanceSchedule;
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

export function maintenanceRoutes(ctx: MaintenanceRoutesContext): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.addHook('onRequest', securityHeadersHook('data'));
    app.addHook('onRequest', ctx.access.hook(readOrAdmin));
    const m = ctx.maintenance;

    app.get('/admin/maintenance', async () => m.list());

    app.post('/admin/maintenance', async (req, reply) => reply.code(201).send(await m.create(req.body)));

    app.get('/admin/maintenance/:id', async (req: IdRequest) => {
      const w = m.get(req.params.id);
      if (!w) throw new SluiceError('SLUICE_ERR_NOT_FOUND', { what: `maintenance window "${req.params.id}"` });
      return w;
    });

    app.put('/admin/maintenance/:id', async (req: IdRequest) => m.update(req.params.id, req.body));

    app.delete('/admin/maintenance/:id', async (req: IdRequest, reply: FastifyReply) => {
      await m.remove(req.params.id);
      return reply.code(204).send();
    });
  };
}
