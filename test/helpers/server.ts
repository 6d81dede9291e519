import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { uniformRandom } from '../../dist/index-engine/random.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'dist/server/main.js');

export interface RunningServer {
  readonly url: string;
  readonly dataDir: string;
  readonly proc: ChildProcess;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

export function tempDir(prefix = 'strata-test-'): string {
  const base = path.join(ROOT, '.test-data');
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, prefix));
}

/**
 * Starts the real server binary on an ephemeral port and waits until /readyz answers 200 (recovery done).
 * The port is read from the server's own "listening" log line.
 */
export async function startServer(
  options: { dataDir?: string; env?: Record<string, string>; args?: string[]; waitReady?: boolean } = {},
): Promise<RunningServer> {
  const dataDir = options.dataDir ?? tempDir();
  const proc = spawn(process.execPath, [MAIN, ...(options.args ?? [])], {
    env: {
      ...process.env,
      STRATA_PORT: '0',
      STRATA_HOST: '127.0.0.1',
      STRATA_DATA_DIR: dataDir,
      STRATA_WORKERS: '2',
      STRATA_LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL'); // never leave a stray server behind
      reject(new Error(`server did not start:\n${log}`));
    }, 30_000);
    const onData = () => {
      const m = /Server listening at (https?:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${log}`));
    });
  });
  for (let i = 0; options.waitReady !== false; i++) {
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.status === 200) break;
    if (i > 600) {
      proc.kill('SIGKILL');
      throw new Error(`server never became ready:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    dataDir,
    proc,
    output: () => log,
    stop: async () => {
      proc.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly text: string;
  readonly headers: Headers;
}

/** A JSON request over real HTTP. `body` may be a string to send malformed JSON as is. */
export async function api<T = any>(
  base: string,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${base}${route}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (health probes answer text)
  }
  return { status: res.status, body: parsed as T, text, headers: res.headers };
}

/** Deterministic PRNG (the engine's mulberry32) for seeded test data, uniform in [0, 1). */
export const rng: (seed: number) => () => number = uniformRandom;

export function randomVector(next: () => number, dim: number): number[] {
  return Array.from({ length: dim }, () => Math.round((next() * 2 - 1) * 1e4) / 1e4);
}

/**
 * Everything a client can observe of the data: the collection list and, per collection, every point (payload
 * and vector), its point count, config and payload schema. Rejected requests must leave it unchanged.
 */
export async function observableState(base: string): Promise<string> {
  const list = await api(base, 'GET', '/collections');
  const parts = [JSON.stringify(list.body.result)];
  for (const { name } of list.body.result.collections as { name: string }[]) {
    const points = await api(base, 'POST', `/collections/${name}/points/scroll`, {
      limit: 10_000,
      with_payload: true,
      with_vector: true,
    });
    const info = (await api(base, 'GET', `/collections/${name}`)).body.result;
    parts.push(
      name,
      JSON.stringify(points.body.result),
      JSON.stringify([info.points_count, info.config, info.payload_schema]),
    );
  }
  return parts.join('\n');
}
