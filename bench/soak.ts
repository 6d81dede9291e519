import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { uniformRandom } from '../index-engine/random.js';
import { freePort, ServerProcess } from './http.js';
import { loadAverage, positiveInt } from './measure.js';
import { machine } from './report.js';

/**
 * Soak test (`npm run bench:soak -- --minutes 10`): mixed load (searches, filtered searches, upserts that
 * overwrite a fixed id space, deletes, payload edits, counts) from several clients against the real server
 * for a long time. Reports the server's resident memory over time (after warm-up it must stay within 10 %:
 * max / min <= 1.10) with what it is made of (anonymous and file-backed pages, the main thread's and the worker
 * threads' V8 heaps: which part moves), answers by status (only 200, and 503 under overload, are allowed) and
 * throughput.
 * Writes bench/results/soak.json.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const COLLECTION = 'soak';
const SAMPLE_MS = 5000;
const UPSERT_BATCH = 50;

interface Options {
  minutes: number;
  warmupMinutes: number;
  clients: number;
  threads: number;
  dim: number;
  ids: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { minutes: 10, warmupMinutes: 0, clients: 8, threads: 2, dim: 64, ids: 30_000 };
  const flags: Record<string, keyof Options> = {
    '--minutes': 'minutes',
    '--warmup-minutes': 'warmupMinutes',
    '--clients': 'clients',
    '--threads': 'threads',
    '--dim': 'dim',
    '--ids': 'ids',
  };
  for (let i = 0; i < argv.length; i++) {
    const field = flags[argv[i]!];
    if (field === undefined) throw new Error(`unknown flag ${argv[i]}; known: ${Object.keys(flags).join(', ')}`);
    options[field] = positiveInt(argv[i]!, argv[++i]);
  }
  // warm-up: a fifth of the run by default, at least one minute when the run is long enough
  if (options.warmupMinutes === 0)
    options.warmupMinutes = Math.min(Math.max(1, options.minutes / 5), options.minutes / 2);
  return options;
}

interface Sample {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly segments: number;
  readonly backlogRows: number;
  /** The main thread's V8 heap in use and its external memory (buffers), MiB: which part of RSS moves. */
  readonly heapMiB: number;
  readonly externalMiB: number;
  /** The worker threads' V8 heaps (in use, summed), MiB: not in heapMiB. */
  readonly workerHeapMiB: number;
  /** Resident memory by kind of page (Linux): anonymous (heaps, malloc, segment memories) and file-backed. */
  readonly anonMiB: number;
  readonly fileMiB: number;
  readonly opsPerSecond: number;
  readonly loadAverage: number;
}

/** The server's resident memory and the soak collection's segments and backlog rows, from /metrics. */
async function serverGauges(server: ServerProcess): Promise<{
  rssBytes: number;
  segments: number;
  backlog: number;
  heapBytes: number;
  externalBytes: number;
  workerHeapBytes: number;
  anonBytes: number;
  fileBytes: number;
}> {
  const res = await fetch(`${server.base}/metrics`);
  const text = await res.text();
  const rss = /^strata_process_resident_memory_bytes (\d+)/m.exec(text);
  if (!rss) throw new Error('no strata_process_resident_memory_bytes in /metrics');
  const gauge = (name: string) =>
    Number(new RegExp(`^${name}\\{collection="${COLLECTION}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  const kind = (k: string) =>
    Number(
      new RegExp(`^strata_process_resident_memory_kind_bytes\\{kind="${k}"\\} (\\d+)`, 'm').exec(text)?.[1] ??
        Number.NaN,
    );
  return {
    rssBytes: Number(rss[1]),
    segments: gauge('strata_collection_segments'),
    backlog: gauge('strata_collection_backlog_rows'),
    heapBytes: Number(/^strata_nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1] ?? Number.NaN),
    externalBytes: Number(/^strata_nodejs_external_memory_bytes (\d+)/m.exec(text)?.[1] ?? Number.NaN),
    workerHeapBytes: Number(/^strata_worker_heap_used_bytes (\d+)/m.exec(text)?.[1] ?? Number.NaN),
    anonBytes: kind('anon'),
    fileBytes: kind('file'),
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const { dim, ids } = options;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-soak-'));
  const server = new ServerProcess(ROOT, await freePort(), dataDir, options.threads);
  const loadStart = loadAverage();
  const statuses: Record<string, number> = {};
  const opsByKind: Record<string, number> = {};
  const next = uniformRandom(7);
  const vector = () => Array.from({ length: dim }, () => Math.round((next() * 2 - 1) * 1e4) / 1e4);
  const point = (id: number) => ({
    id,
    vector: vector(),
    payload: { group: id % 50, price: id % 1000, tag: `t${id % 7}` },
  });
  try {
    await server.waitReady();
    await server.call(
      'PUT',
      `/collections/${COLLECTION}`,
      JSON.stringify({ vectors: { size: dim, distance: 'Cosine' } }),
    );
    await server.call(
      'PUT',
      `/collections/${COLLECTION}/index`,
      JSON.stringify({ field_name: 'group', field_schema: 'integer' }),
    );
    for (let start = 0; start < ids; start += 1000) {
      const points = Array.from({ length: Math.min(1000, ids - start) }, (_, i) => point(start + i));
      await server.call('PUT', `/collections/${COLLECTION}/points`, JSON.stringify({ points }));
    }
    process.stderr.write(
      `soak: ${ids} points loaded; ${options.minutes} min of load from ${options.clients} clients\n`,
    );

    const operations: [number, string, () => [string, string, unknown]][] = [
      [0.35, 'search', () => ['POST', 'points/search', { vector: vector(), limit: 10 }]],
      [
        0.15,
        'filtered search',
        () => [
          'POST',
          'points/search',
          {
            vector: vector(),
            limit: 10,
            filter: { must: [{ key: 'group', match: { value: Math.floor(next() * 50) } }] },
          },
        ],
      ],
      [
        0.25,
        'upsert',
        () => [
          'PUT',
          'points',
          { points: Array.from({ length: UPSERT_BATCH }, () => point(Math.floor(next() * ids))) },
        ],
      ],
      [
        0.08,
        'delete',
        () => ['POST', 'points/delete', { points: Array.from({ length: 5 }, () => Math.floor(next() * ids)) }],
      ],
      [
        0.1,
        'set payload',
        // by a has_id filter: an id deleted meanwhile matches nothing instead of answering 404
        () => [
          'POST',
          'points/payload',
          { filter: { must: [{ has_id: [Math.floor(next() * ids)] }] }, payload: { seen: next() } },
        ],
      ],
      [
        0.07,
        'count',
        () => [
          'POST',
          'points/count',
          { filter: { must: [{ key: 'price', range: { lt: Math.floor(next() * 1000) } }] } },
        ],
      ],
    ];
    const pick = () => {
      let r = next();
      for (const op of operations) {
        r -= op[0];
        if (r < 0) return op;
      }
      return operations[0]!;
    };
    const started = Date.now();
    const deadline = started + options.minutes * 60_000;
    let completed = 0;
    let acknowledgedPoints = 0;
    const client = async () => {
      while (Date.now() < deadline) {
        const [, kind, make] = pick();
        const [method, route, body] = make();
        let status: string;
        try {
          const res = await fetch(`${server.base}/collections/${COLLECTION}/${route}`, {
            method,
            body: JSON.stringify(body),
            headers: { 'content-type': 'application/json' },
          });
          const text = await res.text();
          status = String(res.status);
          if (res.status === 200 && kind === 'upsert') acknowledgedPoints += UPSERT_BATCH;
          if (res.status === 503) {
            // counted by code (write queue, search queue or optimizer backlog), and Retry-After honoured
            status += ` ${(JSON.parse(text) as { status?: { code?: string } }).status?.code ?? ''}`;
            await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
          }
        } catch (e) {
          status = `connection error (${String((e as Error).cause ?? e)})`;
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        opsByKind[kind] = (opsByKind[kind] ?? 0) + 1;
        completed++;
      }
    };
    const samples: Sample[] = [];
    const sampler = (async () => {
      let last = 0;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
        const gauges = await serverGauges(server);
        const sample = {
          seconds: Math.round((Date.now() - started) / 1000),
          rssMiB: Math.round(gauges.rssBytes / 2 ** 20),
          segments: gauges.segments,
          backlogRows: gauges.backlog,
          heapMiB: Math.round(gauges.heapBytes / 2 ** 20),
          externalMiB: Math.round(gauges.externalBytes / 2 ** 20),
          workerHeapMiB: Math.round(gauges.workerHeapBytes / 2 ** 20),
          anonMiB: Math.round(gauges.anonBytes / 2 ** 20),
          fileMiB: Math.round(gauges.fileBytes / 2 ** 20),
          opsPerSecond: Math.round(((completed - last) * 1000) / SAMPLE_MS),
          loadAverage: loadAverage(),
        };
        last = completed;
        samples.push(sample);
        process.stderr.write(
          `  t=${sample.seconds}s rss=${sample.rssMiB} MiB (anon ${sample.anonMiB}, file ${sample.fileMiB}; main heap ${sample.heapMiB}, external ${sample.externalMiB}, worker heaps ${sample.workerHeapMiB}) segments=${sample.segments} backlog=${sample.backlogRows} ${sample.opsPerSecond} ops/s load ${sample.loadAverage}\n`,
        );
      }
    })();
    await Promise.all([...Array.from({ length: options.clients }, client), sampler]);
    const seconds = (Date.now() - started) / 1000;

    const steady = samples.filter((s) => s.seconds >= options.warmupMinutes * 60);
    const rss = steady.map((s) => s.rssMiB);
    const maxOverMin = rss.length > 0 ? Math.max(...rss) / Math.min(...rss) : Number.NaN;
    const badStatuses = Object.keys(statuses).filter((s) => s !== '200' && !s.startsWith('503'));
    const exitCode = await server.stop();
    const result = {
      benchmark: 'soak',
      machine: machine(ROOT),
      loadAverage: { start: loadStart, end: loadAverage() },
      options,
      seconds: Math.round(seconds),
      operations: completed,
      throughputPerSecond: Math.round(completed / seconds),
      acknowledgedUpsertPointsPerSecond: Math.round(acknowledgedPoints / seconds),
      segments: { min: Math.min(...steady.map((s) => s.segments)), max: Math.max(...steady.map((s) => s.segments)) },
      operationsByKind: opsByKind,
      statuses,
      rss: {
        afterWarmupMinMiB: Math.min(...rss),
        afterWarmupMaxMiB: Math.max(...rss),
        maxOverMin: Math.round(maxOverMin * 1000) / 1000,
        withinTenPercent: maxOverMin <= 1.1,
      },
      onlyAllowedStatuses: badStatuses.length === 0,
      serverExitCode: exitCode,
      samples,
    };
    fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench/results/soak.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      `soak: ${result.operations} operations in ${result.seconds} s (${result.throughputPerSecond}/s); statuses ${JSON.stringify(statuses)}\n` +
        `acknowledged upserts ${result.acknowledgedUpsertPointsPerSecond} points/s; segments after warm-up ${result.segments.min}-${result.segments.max}\n` +
        `RSS after warm-up ${result.rss.afterWarmupMinMiB}-${result.rss.afterWarmupMaxMiB} MiB (max/min ${result.rss.maxOverMin}); ` +
        `load average ${loadStart} -> ${result.loadAverage.end}; exit code ${exitCode}\n`,
    );
    if (!result.rss.withinTenPercent || !result.onlyAllowedStatuses || exitCode !== 0) process.exitCode = 1;
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
