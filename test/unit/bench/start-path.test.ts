import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { SERVER_MALLOC_ENV, SERVER_NODE_FLAGS } from '../../../dist/bench/http.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/**
 * The benches and e2e helpers measure the server as it is deployed: `npm start`, the Docker image and
 * bench/http.ts's ServerProcess must start it with the same node flags and malloc settings (README,
 * Configuration), or the soak benchmark's memory figures would be about another process.
 */
describe('the server start path', () => {
  const flags = (SERVER_NODE_FLAGS as readonly string[]).join(' ');
  const env = Object.entries(SERVER_MALLOC_ENV as Record<string, string>);

  it('npm start uses the flags and the malloc settings of ServerProcess', () => {
    const start = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start as string;
    expect(start).toBe(`${env.map(([k, v]) => `${k}=${v}`).join(' ')} node ${flags} dist/server/main.js`);
  });

  it('the Dockerfile uses them too', () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(
      `CMD ${JSON.stringify(['node', ...SERVER_NODE_FLAGS, 'dist/server/main.js'])}`.replace(/","/g, '", "'),
    );
    for (const [k, v] of env) expect(dockerfile).toMatch(new RegExp(`^\\s+${k}=${v}( \\\\)?$`, 'm'));
  });

  it('the README shows the same command', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`${env.map(([k, v]) => `${k}=${v}`).join(' ')} node ${flags} dist/server/main.js`);
  });
});
