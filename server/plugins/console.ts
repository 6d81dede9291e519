import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** dist/console/, built by `npm run build` (console/ compiled by tsc, plus its HTML and CSS). */
export const CONSOLE_ROOT = path.resolve(import.meta.dirname, '../../console');

/**
 * The web console at /console/: static files only. It calls the REST API from the browser with the key the
 * user enters, so the files themselves are served without a key (server/plugins/auth.ts lists them as open).
 */
export default fp(
  async (app: FastifyInstance) => {
    await app.register(fastifyStatic, {
      root: CONSOLE_ROOT,
      prefix: '/console/',
      // no directory listings, no dotfiles; the page is small and changes with each release
      index: 'index.html',
      list: false,
      cacheControl: true,
      maxAge: 0,
    });
    app.get('/console', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/'));
  },
  { name: 'console' },
);
