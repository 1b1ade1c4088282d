// Serves the built browser UI (dist/web, made by scripts/build-web.mjs): index.html at / with
// no-cache (it names the current assets), /assets/* with content-hashed names as immutable.
// Files are read once at start (the bundle is ~100 KiB) and kept gzipped beside the plain bytes.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** dist/web of this checkout: from src/ui (tsx) and from dist/ui (built) alike. */
export const WEB_DIST = fileURLToPath(new URL('../../dist/web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
  cache: string;
}

function load(path: string, cache: string): Asset {
  const body = readFileSync(path);
  return {
    type: TYPES[extname(path)] ?? 'application/octet-stream',
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    cache,
  };
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset): FastifyReply {
  void reply
    .header('cache-control', a.cache)
    .header('etag', a.etag)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff');
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  void reply.type(a.type);
  if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? ''))
    return reply.header('content-encoding', 'gzip').send(a.gzip);
  return reply.send(a.body);
}

export function webAssets(dir = WEB_DIST) {
  return async (app: FastifyInstance): Promise<void> => {
    const built = existsSync(join(dir, 'index.html'));
    const index = built ? load(join(dir, 'index.html'), 'no-cache') : undefined;
    const assets = new Map<string, Asset>();
    if (built && existsSync(join(dir, 'assets'))) {
      for (const name of readdirSync(join(dir, 'assets'))) {
        // A build running beside this start (tests) leaves `<name>.<pid>.tmp` files that it
        // renames away at any moment: they are not assets.
        if (name.endsWith('.tmp')) continue;
        assets.set(name, load(join(dir, 'assets', name), 'public, max-age=31536000, immutable'));
      }
    }
    app.get('/', async (req, reply) => {
      if (!index)
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('The web UI is not built: run `npm run build` (or `npm start`, which builds it).\n');
      return send(req, reply, index);
    });
    app.get('/ui', async (_req, reply) => reply.redirect('/'));
    app.get('/assets/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
      const a = assets.get(req.params.name);
      if (!a)
        return reply
          .code(404)
          .type('text/plain; charset=utf-8')
          .send('no such asset (the UI was rebuilt? reload the page)\n');
      return send(req, reply, a);
    });
  };
}
