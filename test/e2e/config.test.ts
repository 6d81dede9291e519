import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { api, ROOT, startServer, tempDir } from '../helpers/server.js';

const MAIN = path.join(ROOT, 'dist/server/main.js');

function runWith(env: Record<string, string>, args: string[] = []) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    env: { ...process.env, STRATA_DATA_DIR: tempDir(), ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('configuration', () => {
  it.each([
    [{ STRATA_PORT: 'abc' }, 'STRATA_PORT'],
    [{ STRATA_PORT: '70000' }, 'STRATA_PORT'],
    [{ PORT: '-5' }, 'PORT'],
    [{ STRATA_WORKERS: '0' }, 'STRATA_WORKERS'],
    [{ STRATA_LOG_LEVEL: 'loud' }, 'STRATA_LOG_LEVEL'],
    [{ STRATA_MAX_BODY_MB: '1.5' }, 'STRATA_MAX_BODY_MB'],
    [{ STRATA_QUERY_LOG_SAMPLE: '1.5' }, 'STRATA_QUERY_LOG_SAMPLE'],
    [{ STRATA_HOST: ' ' }, 'STRATA_HOST'],
  ])('stops the start on invalid %o with a message naming it', (env, name) => {
    const run = runWith(env);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`invalid ${name}=`);
  });

  it('rejects unknown and incomplete flags', () => {
    expect(runWith({}, ['--bogus', '1']).stderr).toContain('unknown option --bogus');
    expect(runWith({}, ['--port']).stderr).toContain('--port needs a value');
    expect(runWith({}, ['--workers=abc']).stderr).toContain('invalid --workers=');
  });

  it('honours PORT when STRATA_PORT is unset, and flags over the environment', async () => {
    const probe = await startServer();
    const port = Number(new URL(probe.url).port);
    await probe.stop();
    const server = await startServerWithoutStrataPort(port);
    expect((await api(server.url, 'GET', '/')).status).toBe(200);
    expect(server.url).toBe(`http://127.0.0.1:${port}`);
    await server.stop();
  });
});

/** startServer sets STRATA_PORT=0; here only PORT is given (and the other settings as flags). */
async function startServerWithoutStrataPort(port: number) {
  const { spawn } = await import('node:child_process');
  const env: Record<string, string | undefined> = { ...process.env, PORT: String(port), STRATA_DATA_DIR: tempDir() };
  delete env.STRATA_PORT;
  const proc = spawn(process.execPath, [MAIN, '--workers', '1', '--log-level', 'info'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    stop: () =>
      new Promise<number | null>((resolve) => {
        proc.once('exit', resolve);
        proc.kill('SIGTERM');
      }),
  };
}
