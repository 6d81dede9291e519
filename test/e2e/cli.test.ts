import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Transform } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTERED, readVecs } from '../helpers/dataset.js';
import { api, ROOT, type RunningServer, startServer, tempDir } from '../helpers/server.js';

/** The compiled `strata` bin, run as a child process against a real server. */
const CLI = path.join(ROOT, 'dist/cli/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function strata(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, STRATA_URL: '', STRATA_API_KEY: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const SUMMARY = /^imported (\d+) points into (\S+) in ([\d.]+) s \((\d+) points\/s, peak RSS (\d+) MB\)$/m;

let server: RunningServer;
let work: string;
const KEY = 'cli-test-key';
const call = (method: string, route: string, body?: unknown) =>
  api(server.url, method, route, body, { 'api-key': KEY });
/** Every point of a collection in id order (the raw text keeps ids exact). */
async function allPoints(name: string) {
  const res = await call('POST', `/collections/${name}/points/scroll`, {
    limit: 10_000,
    with_payload: true,
    with_vector: true,
  });
  return res.body.result.points as { id: number | string; vector: number[]; payload: unknown }[];
}

type Forward = (req: http.IncomingMessage, res: http.ServerResponse, rewrite?: Transform) => void;

/** An HTTP proxy in front of the real server: `handle` answers a request itself or forwards it (its answer's body through `rewrite`). */
async function startProxy(
  handle: (req: http.IncomingMessage, res: http.ServerResponse, forward: Forward) => void,
): Promise<{ url: string; close(): void }> {
  const forward: Forward = (req, res, rewrite) => {
    const target = new URL(req.url!, server.url);
    const upstream = http.request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      (rewrite ? answer.pipe(rewrite) : answer).pipe(res);
    });
    req.pipe(upstream);
  };
  const proxy = http.createServer((req, res) => handle(req, res, forward));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, close: () => proxy.close() };
}

beforeAll(async () => {
  server = await startServer({ env: { STRATA_API_KEY: KEY } });
  work = tempDir('strata-cli-');
});
afterAll(async () => {
  await server?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('strata import', () => {
  it('imports a .fvecs file, creating the collection, and prints a summary', async () => {
    const file = path.join(CLUSTERED, 'base.fvecs');
    const run = await strata(
      ['import', 'clustered', file, '--create', '--distance', 'Euclid', '--batch-size', '500', '--url', server.url],
      { STRATA_API_KEY: KEY },
    );
    expect(run.stderr).toContain('created collection clustered (128 dimensions, Euclid)');
    expect(run.code, run.stderr).toBe(0);
    const [, points, name] = SUMMARY.exec(run.stdout)!;
    expect([points, name]).toEqual(['10000', 'clustered']);
    // not a terminal: no progress bar in the output
    expect(run.stderr).not.toContain('%');
    const info = await call('GET', '/collections/clustered');
    expect(info.body.result.points_count).toBe(10_000);
    expect(info.body.result.config.params.vectors).toEqual({ size: 128, distance: 'Euclid' });
    const rows = readVecs(file, 'f');
    const got = await call('POST', '/collections/clustered/points', { ids: [0, 4321, 9999], with_vector: true });
    expect(got.body.result.map((p: { vector: number[] }) => p.vector)).toEqual([rows[0], rows[4321], rows[9999]]);
  });

  it('imports .bvecs rows with --id-offset', async () => {
    const file = path.join(work, 'bytes.bvecs');
    const rows = Array.from({ length: 50 }, (_, i) => [i, 255 - i, (i * 7) % 256]);
    fs.writeFileSync(
      file,
      Buffer.concat(rows.map((r) => Buffer.concat([Buffer.from(new Int32Array([3]).buffer), Buffer.from(r)]))),
    );
    const run = await strata(['import', 'bytes', file, '--create', '--id-offset', '1000', '-q', '--url', server.url], {
      STRATA_API_KEY: KEY,
    });
    expect(run.code, run.stderr).toBe(0);
    const points = await allPoints('bytes');
    expect(points.map((p) => p.id)).toEqual(rows.map((_, i) => 1000 + i));
    expect((await call('GET', '/collections/bytes')).body.result.config.params.vectors.distance).toBe('Cosine');
  });

  it('imports JSON lines with integer and UUID ids and payloads', async () => {
    const file = path.join(work, 'points.jsonl');
    fs.writeFileSync(
      file,
      [
        '{"id": 1, "vector": [1, 0], "payload": {"kind": "a"}}',
        '',
        '{"id": "7a2a5ab8-3c38-4c4f-8d2b-8b7c1e8f2b10", "vector": [0, 1], "payload": {"kind": "b", "n": [1, 2]}}',
        '{"id": 18446744073709551615, "vector": [0.5, 0.5]}',
      ].join('\n'),
    );
    await call('PUT', '/collections/lines', { vectors: { size: 2, distance: 'Dot' } });
    const run = await strata(['import', 'lines', file, '--url', server.url, '--api-key', KEY]);
    expect(run.code, run.stderr).toBe(0);
    expect(SUMMARY.exec(run.stdout)?.[1]).toBe('3');
    const res = await call('POST', '/collections/lines/points/scroll', { limit: 10, with_vector: true });
    // 2^64 - 1 arrives exactly (the raw text, since JSON.parse would round it)
    expect(res.text).toContain('"id":18446744073709551615');
    expect(res.body.result.points).toContainEqual({
      id: '7a2a5ab8-3c38-4c4f-8d2b-8b7c1e8f2b10',
      vector: [0, 1],
      payload: { kind: 'b', n: [1, 2] },
    });
  });

  it('imports CSV: id, a vector column, a payload column and plain columns', async () => {
    const file = path.join(work, 'points.csv');
    fs.writeFileSync(
      file,
      [
        'id,vector,color,size,in_stock,payload',
        '1,"[0.25, 0.5, 1]",red,10,true,',
        '2,0.1 0.2 0.3,"dark ""blue"", mostly",2.5,false,"{""tags"": [""x""]}"',
        '3,"[1,2,3]","two',
        'lines",7,,"{""note"": ""n""}"',
        '',
      ].join('\r\n'),
    );
    const run = await strata(['import', 'table', file, '--create', '--dim', '3', '--url', server.url], {
      STRATA_API_KEY: KEY,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(await allPoints('table')).toEqual([
      { id: 1, vector: expect.any(Array), payload: { color: 'red', size: 10, in_stock: true } },
      {
        id: 2,
        vector: expect.any(Array),
        payload: { color: 'dark "blue", mostly', size: 2.5, in_stock: false, tags: ['x'] },
      },
      { id: 3, vector: expect.any(Array), payload: { color: 'two\nlines', size: 7, note: 'n' } },
    ]);
  });

  it('fails with the server error and exit code 1 when a point is rejected', async () => {
    const file = path.join(work, 'bad.jsonl');
    fs.writeFileSync(file, '{"id": 1, "vector": [1, 2, 3]}\n');
    const missing = await strata(['import', 'nowhere', file, '--url', server.url], { STRATA_API_KEY: KEY });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/strata: .*\(404 STRATA_ERR_COLLECTION_NOT_FOUND\)/);
    const wrongDim = await strata(['import', 'lines', file, '--url', server.url], { STRATA_API_KEY: KEY });
    expect(wrongDim.code).toBe(1);
    expect(wrongDim.stderr).toContain('400');
    const noKey = await strata(['import', 'lines', file, '--url', server.url]);
    expect(noKey.stderr).toContain('401 STRATA_ERR_UNAUTHORIZED');
  });

  it('retries batches answered 503, honouring Retry-After', async () => {
    // A proxy in front of the real server answers the first two upserts 503 with Retry-After: 1, as an
    // overloaded or recovering server does, and forwards everything else.
    let refused = 0;
    const proxy = await startProxy((req, res, forward) => {
      if (req.method === 'PUT' && req.url?.includes('/points') && refused < 2) {
        refused++;
        req.resume();
        res.writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' });
        res.end('{"status":{"error":"busy","code":"STRATA_ERR_OVERLOADED"},"time":0}');
      } else forward(req, res);
    });
    const url = proxy.url;
    try {
      const started = performance.now();
      const run = await strata(
        ['import', 'retried', path.join(CLUSTERED, 'query.fvecs'), '--create', '--parallel', '1', '--url', url],
        { STRATA_API_KEY: KEY },
      );
      const seconds = (performance.now() - started) / 1000;
      expect(run.code, run.stderr).toBe(0);
      expect(refused).toBe(2);
      expect(run.stderr.match(/503; retry \d\/8 in 1\.0 s/g)).toHaveLength(2);
      expect(seconds).toBeGreaterThanOrEqual(2);
      expect((await call('GET', '/collections/retried')).body.result.points_count).toBe(100);
    } finally {
      proxy.close();
    }
  });
});

describe('strata export', () => {
  it('round-trips a collection through JSON lines', async () => {
    const first = path.join(work, 'export-1.jsonl');
    const again = path.join(work, 'export-2.jsonl');
    const out = await strata(['export', 'lines', first, '--batch-size', '2', '--url', server.url], {
      STRATA_API_KEY: KEY,
    });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/exported 3 points from lines to .* in [\d.]+ s/);
    const text = fs.readFileSync(first, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(3);
    expect(text).toContain('"id":18446744073709551615');

    await call('PUT', '/collections/lines-copy', { vectors: { size: 2, distance: 'Dot' } });
    const back = await strata(['import', 'lines-copy', first, '--url', server.url], { STRATA_API_KEY: KEY });
    expect(back.code, back.stderr).toBe(0);
    await strata(['export', 'lines-copy', again, '--url', server.url], { STRATA_API_KEY: KEY });
    expect(fs.readFileSync(again, 'utf8')).toBe(text);

    const piped = await strata(['export', 'bytes', '-', '--batch-size', '7', '--url', server.url], {
      STRATA_API_KEY: KEY,
    });
    const lines = piped.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((p) => p.id)).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i));
    expect(lines[3].vector).toHaveLength(3); // normalised: the collection is Cosine
  });
});

describe('strata snapshot', () => {
  const run = (...args: string[]) => strata([...args, '--url', server.url], { STRATA_API_KEY: KEY });
  const sha256Of = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  let made: { name: string; size: number; checksum: string };
  let archive: string;

  it('creates, lists and downloads a snapshot, checking the sha256 the server reported', async () => {
    const created = await run('snapshot', 'create', 'clustered', '--json');
    expect(created.code, created.stderr).toBe(0);
    made = JSON.parse(created.stdout);
    expect(made.name).toMatch(/^clustered-.*\.snapshot$/);
    const listed = await run('snapshot', 'list', 'clustered');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^NAME +CREATED +SIZE \(MB\) +SHA256\n/);
    expect(listed.stdout).toContain(`${made.name}  `);
    expect(listed.stdout).toContain(made.checksum);

    archive = path.join(work, 'clustered.snapshot');
    const down = await run('snapshot', 'download', 'clustered', made.name, archive);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/^downloaded \S+ to .*clustered\.snapshot, sha256 verified \([\d.]+ MB\) in [\d.]+ s/);
    expect(fs.statSync(archive).size).toBe(made.size);
    expect(sha256Of(archive)).toBe(made.checksum);
    expect(fs.existsSync(`${archive}.partial`)).toBe(false);
  });

  it('uploads the archive into another collection: the same points', async () => {
    const up = await run('snapshot', 'upload', 'clustered-copy', archive, '--checksum', made.checksum);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/^uploaded .*clustered\.snapshot into clustered-copy, 10000 points \([\d.]+ MB\)/);
    const copy = await call('GET', '/collections/clustered-copy');
    expect(copy.body.result.config.params.vectors).toEqual({ size: 128, distance: 'Euclid' });
    expect(await allPoints('clustered-copy')).toEqual(await allPoints('clustered'));
  });

  it('restores from a snapshot name, and from a URL the server downloads itself', async () => {
    const original = await allPoints('clustered');
    await call('POST', '/collections/clustered/points/delete?wait=true', {
      points: Array.from({ length: 100 }, (_, i) => i),
    });
    expect((await call('GET', '/collections/clustered')).body.result.points_count).toBe(9900);
    const back = await run('snapshot', 'restore', 'clustered', made.name);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout.trim()).toBe(`restored clustered from ${made.name}, 10000 points`);
    expect(await allPoints('clustered')).toEqual(original);

    const url = `${server.url}/collections/clustered/snapshots/${made.name}`;
    const fromUrl = await run('snapshot', 'restore', 'clustered-url', url, '--source-api-key', KEY);
    expect(fromUrl.code, fromUrl.stderr).toBe(0);
    expect(await allPoints('clustered-url')).toEqual(original);
  });

  it('fails with exit code 1 and a clear message on a wrong checksum', async () => {
    const wrong = made.checksum.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const mismatch = `checksum ${made.checksum} does not match the expected ${wrong} (400 STRATA_ERR_SNAPSHOT_INVALID)`;
    const up = await run('snapshot', 'upload', 'clustered-bad', archive, '--checksum', wrong);
    expect(up.code).toBe(1);
    expect(up.stderr).toContain(mismatch);
    const restore = await run('snapshot', 'restore', 'clustered-bad', made.name, '--checksum', wrong);
    expect(restore.code).toBe(1);
    expect(restore.stderr).toContain(mismatch);
    expect((await call('GET', '/collections/clustered-bad/exists')).body.result.exists).toBe(false);
    const malformed = await run('snapshot', 'upload', 'clustered-bad', archive, '--checksum', 'abc');
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('must be a sha256: 64 hexadecimal digits');

    // a download whose bytes change on the way (one bit of the first chunk) is refused and leaves no file
    const proxy = await startProxy((req, res, forward) => {
      let flipped = false;
      const corrupt = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          if (!flipped && req.url?.endsWith('.snapshot')) {
            flipped = true;
            chunk = Buffer.from(chunk);
            chunk[0]! ^= 1;
          }
          done(null, chunk);
        },
      });
      forward(req, res, corrupt);
    });
    try {
      const target = path.join(work, 'corrupt.snapshot');
      const down = await strata(['snapshot', 'download', 'clustered', made.name, target, '--url', proxy.url], {
        STRATA_API_KEY: KEY,
      });
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(
        new RegExp(
          `checksum mismatch: the download of \\S+ has sha256 [0-9a-f]{64}, the server reported ${made.checksum}`,
        ),
      );
      expect(fs.existsSync(target)).toBe(false);
      expect(fs.existsSync(`${target}.partial`)).toBe(false);
    } finally {
      proxy.close();
    }
  });

  it('deletes a snapshot', async () => {
    const gone = await run('snapshot', 'delete', 'clustered', made.name);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout.trim()).toBe(`deleted snapshot ${made.name} of clustered`);
    const listed = await run('snapshot', 'list', 'clustered', '--json');
    expect(JSON.parse(listed.stdout).map((s: { name: string }) => s.name)).not.toContain(made.name);
    for (const again of [
      await run('snapshot', 'delete', 'clustered', made.name),
      await run('snapshot', 'download', 'clustered', made.name, path.join(work, 'gone.snapshot')),
    ]) {
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('(404 STRATA_ERR_SNAPSHOT_NOT_FOUND)');
    }
  });

  it('uploads a 128 MB archive with the same peak memory as a 32 MB one', async () => {
    // Sparse files of zeros: not archives, so the server refuses them with 400, but only after it received the
    // whole upload. A preloaded hook prints the CLI's peak RSS on exit, whatever the exit path.
    const peakHook = `--import=data:text/javascript,process.on('exit',()=>process.stderr.write('peak-rss-kb='+process.resourceUsage().maxRSS+'\\n'))`;
    const peaks: number[] = [];
    for (const mb of [32, 128]) {
      const file = path.join(work, `zeros-${mb}.snapshot`);
      fs.writeFileSync(file, '');
      fs.truncateSync(file, mb * 2 ** 20);
      const up = await strata(['snapshot', 'upload', 'not-an-archive', file, '--url', server.url], {
        STRATA_API_KEY: KEY,
        NODE_OPTIONS: peakHook,
      });
      expect(up.code).toBe(1);
      expect(up.stderr).toContain('(400 STRATA_ERR_SNAPSHOT_INVALID)');
      peaks.push(Math.round(Number(/peak-rss-kb=(\d+)/.exec(up.stderr)![1]) / 1024));
      fs.rmSync(file);
    }
    const [small, large] = peaks as [number, number];
    console.log(`snapshot upload peak RSS: ${small} MB for 32 MB, ${large} MB for 128 MB`);
    // a body held in memory (as Node's fetch does with a streamed upload) would add the 96 MB the file grew by
    expect(large - small).toBeLessThan(40);
  });
});

describe('constant memory', () => {
  /** JSON lines of `n` points with a 4 KiB payload each, written in chunks so the test itself stays small. */
  function writeLines(file: string, n: number): number {
    const fd = fs.openSync(file, 'w');
    const filler = 'x'.repeat(4096);
    for (let start = 0; start < n; start += 1000) {
      let chunk = '';
      for (let i = start; i < Math.min(n, start + 1000); i++) {
        chunk += `{"id":${i},"vector":[${i % 7},${i % 11},1,0.5],"payload":{"text":"${filler}","i":${i}}}\n`;
      }
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
    return fs.statSync(file).size;
  }

  it('imports a 64 MB file with the same peak memory as a 16 MB one', async () => {
    const quarter = path.join(work, 'quarter.jsonl');
    const large = path.join(work, 'large.jsonl');
    const quarterBytes = writeLines(quarter, 4_000);
    const largeBytes = writeLines(large, 16_500);
    expect(largeBytes).toBeGreaterThan(64 * 2 ** 20);
    const peaks: number[] = [];
    for (const [name, file] of [
      ['mem-quarter', quarter],
      ['mem-large', large],
    ] as const) {
      // V8's heap capped at 32 MB, half the file: a reader that kept the file (or queued its batches faster than
      // the server takes them) dies of heap exhaustion, and the heap cannot grow lazily, so peak RSS tracks what
      // the process really holds.
      const run = await strata(['import', name, file, '--create', '--distance', 'Dot', '--url', server.url], {
        STRATA_API_KEY: KEY,
        NODE_OPTIONS: '--max-old-space-size=32',
      });
      expect(run.code, run.stderr).toBe(0);
      peaks.push(Number(SUMMARY.exec(run.stdout)![5]));
    }
    const [quarterPeak, largePeak] = peaks as [number, number];
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    console.log(`peak RSS: ${quarterPeak} MB for ${mb(quarterBytes)} MB, ${largePeak} MB for ${mb(largeBytes)} MB`);
    // four times the data, (almost) the same memory: the growth is well under the 48 MB the file grew by
    expect(largePeak - quarterPeak).toBeLessThan(24);
    expect((await call('GET', '/collections/mem-large')).body.result.points_count).toBe(16_500);
  });
});

describe('strata serve', () => {
  it('runs the server with its flags, like npm start', async () => {
    const dataDir = tempDir('strata-cli-serve-');
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir, '--workers', '1'], {
      env: { ...process.env, STRATA_HOST: '127.0.0.1', STRATA_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        log += d.toString();
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${log}`)));
    });
    expect((await api(url, 'GET', '/')).body.title).toContain('strata');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
