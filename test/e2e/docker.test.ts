import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';

/**
 * The Dockerfile really builds and runs: ../shared/tools/docker-check builds the image with podman, starts it,
 * waits for an answer on the given path, runs the image's HEALTHCHECK and stops it with SIGTERM. It needs root
 * and podman and takes minutes, so it runs only with STRATA_DOCKER_CHECK=1 (`.ci/run` sets it when podman works).
 */
const SCRIPT = path.resolve(ROOT, '../shared/tools/docker-check/check-dockerfile.sh');
const enabled = process.env.STRATA_DOCKER_CHECK === '1';
if (!enabled) {
  console.warn('docker.test: skipping the image check: set STRATA_DOCKER_CHECK=1 where podman can run (root)');
}
const run = promisify(execFile);

it.skipIf(!enabled)(
  'the image builds, serves the console, passes its HEALTHCHECK, stops on SIGTERM and ships the CLI',
  async () => {
    expect(fs.existsSync(SCRIPT), `${SCRIPT} is missing`).toBe(true);
    // The health path is the console's page: it proves the image carries dist/console as well as the server;
    // the image's own HEALTHCHECK probes /healthz.
    const check = await run(SCRIPT, ['-q', '--timeout', '120', ROOT, '/console/'], {
      maxBuffer: 64 * 2 ** 20,
      timeout: 20 * 60_000,
    }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
    const verdict = check.stdout.trim().split('\n').at(-1) ?? '';
    expect(verdict, `${check.stdout}\n${check.stderr}`).toMatch(/^PASS/);
    // The built image stays as localhost/docker-check/<directory name>: the CLI runs inside it.
    const image = `localhost/docker-check/${path.basename(ROOT)}:latest`;
    // with the runtime flags the script found to work on this machine (it logs them)
    const flags = /podman run flags: (.*?); build flags/.exec(`${check.stdout}\n${check.stderr}`)?.[1] ?? '(defaults)';
    const runFlags = flags === '(defaults)' ? [] : flags.split(' ');
    const help = await run('podman', ['run', '--rm', ...runFlags, image, 'node', 'dist/cli/main.js', '--help']);
    expect(help.stdout).toContain('import [options] <collection> <file>');
  },
  25 * 60_000,
);
