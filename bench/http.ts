import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FilterJson } from '../storage/index.js';
import { COLLECTION, pointBatches } from './in-process.js';
import { measure } from './measure.js';
import { type BenchConfig, makeRow, type Row } from './rows.js';
import { type SearchTarget, searchSuite } from './search-suite.js';

const READY_TIMEOUT_MS = 60_000;
/** The node flags of `npm start` and the Dockerfile (test/unit checks that the three agree). */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=20', '--expose-gc'] as const;
/** The glibc malloc settings of `npm start` and the Dockerfile (the README's Configuration section says why). */
export const SERVER_MALLOC_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '262144' } as const;
const STOP_TIMEOUT_MS = 15_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let ticks: number | null = null;
/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 on Linux almost everywhere). */
function clockTicks(): number {
  if (ticks === null) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** The real server (`node dist/server/main.js`) as a child process on a free port and a fresh data dir. */
export class ServerProcess {
  readonly base: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(root: string, port: number, dataDir: string, threads: number) {
    this.base = `http://127.0.0.1:${port}`;
    // started the way the Dockerfile and `npm start` start it: a small young generation (workers/pool.ts), heaps
    // grown by at most 20 % between major GCs, and gc() for the workers' collections after a segment is retired
    // (workers/segment-cache.ts); the README's Configuration section says why
    // STRATA_BENCH_NODE_ARGS: extra node flags for the server (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof to profile it)
    const extra = (process.env.STRATA_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
    this.child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...extra, path.join(root, 'dist/server/main.js')], {
      cwd: root,
      env: {
        ...SERVER_MALLOC_ENV,
        ...process.env,
        STRATA_HOST: '127.0.0.1',
        STRATA_PORT: String(port),
        STRATA_DATA_DIR: dataDir,
        STRATA_LOG_LEVEL: 'warn',
        STRATA_WORKERS: String(threads),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exitCode: number | null | undefined;
    void this.exited.then((code) => {
      exitCode = code;
    });
    while (Date.now() < deadline) {
      if (exitCode !== undefined) throw new Error(`the server exited with code ${exitCode} before it was ready`);
      try {
        const res = await fetch(`${this.base}/readyz`);
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the server was not ready within ${READY_TIMEOUT_MS / 1000} s`);
  }

  async call(method: string, route: string, body?: string): Promise<unknown> {
    const res = await fetch(`${this.base}${route}`, {
      method,
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as unknown;
  }

  /**
   * CPU time the server process has used so far (user + system, every thread: the event loop, the pool's
   * workers, GC), in seconds; null where /proc is not available (not Linux).
   */
  cpuSeconds(): number | null {
    try {
      const stat = fs.readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      // fields after the command name "(...)": utime and stime are the 12th and 13th
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / clockTicks();
    } catch {
      return null;
    }
  }

  /** SIGTERM, then waits for a clean exit (SIGKILL after STOP_TIMEOUT_MS). Returns the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

type SearchResponse = { result: { id: unknown }[] };
type BatchResponse = { result: { id: unknown }[][] };

function httpTarget(server: ServerProcess): SearchTarget {
  const route = `/collections/${COLLECTION}/points/search`;
  return {
    async one(vector: readonly number[], filter: FilterJson | null, k: number): Promise<number[]> {
      const body = JSON.stringify({ vector, limit: k, ...(filter ? { filter } : {}) });
      const res = (await server.call('POST', route, body)) as SearchResponse;
      return res.result.map((h) => Number(h.id));
    },
    async batch(vectors: readonly (readonly number[])[], k: number): Promise<number[][]> {
      const body = JSON.stringify({ searches: vectors.map((vector) => ({ vector, limit: k })) });
      const res = (await server.call('POST', `${route}/batch`, body)) as BatchResponse;
      return res.result.map((hits) => hits.map((h) => Number(h.id)));
    },
  };
}

/** The same figures over REST against the real server process (JSON encoding, Fastify, loopback TCP). */
export async function benchHttp(cfg: BenchConfig, root: string): Promise<{ rows: Row[]; exitCode: number | null }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-http-'));
  const server = new ServerProcess(root, await freePort(), dataDir, cfg.threads);
  try {
    await server.waitReady();
    // Request bodies are serialized before the clock starts: the figure is the server's, not JSON.stringify's.
    const bodies = pointBatches(cfg).map((points) => JSON.stringify({ points }));
    const createBody = JSON.stringify({ vectors: { size: cfg.dataset.dim, distance: 'Euclid' } });
    const pointsRoute = `/collections/${COLLECTION}/points?wait=true`;
    process.stderr.write(`  http: upsert ${cfg.dataset.n} points in batches of ${cfg.upsertBatch}\n`);
    // Each repetition loads a fresh collection (re-created untimed); the last one stays for the searches.
    const reps = await measure(
      cfg.reps,
      cfg.dataset.n,
      async () => {
        for (const body of bodies) await server.call('PUT', pointsRoute, body);
      },
      async () => {
        await server.call('DELETE', `/collections/${COLLECTION}`);
        await server.call('PUT', `/collections/${COLLECTION}`, createBody);
      },
    );
    const rows = [makeRow('http.upsert', 'http', 'upsert (?wait=true)', 'points/s', { reps }, false)];
    const searches = await searchSuite(cfg, httpTarget(server), {
      section: 'http',
      prefix: 'http',
      concurrencyLabel: `${cfg.concurrency} concurrent clients`,
      batchLabel: `${cfg.searchBatch} per /search/batch request`,
      filtered: false,
    });
    rows.push(...searches);
    const exitCode = await server.stop();
    return { rows, exitCode };
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
