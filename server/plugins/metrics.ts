import fs from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds: sub-millisecond reads up to searches near the default 30 s timeout. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Prometheus metrics at `GET /metrics` (text format, prom-client), on a registry of this app's own:
 * requests by method, route pattern and status with a latency histogram; the worker pool; points and segments
 * per collection; planner branches and optimizer jobs (read from the database at scrape time); and the
 * process's default metrics (memory, CPU, event loop, GC), all prefixed `strata_`. Routes are labelled by their
 * pattern (`/collections/:collection_name/points/search`), never by the raw URL, so the label set stays small.
 */
export default fp(
  async (app: FastifyInstance) => {
    const register = new Registry();
    collectDefaultMetrics({ register, prefix: 'strata_' });
    const db = app.db;

    const labelNames = ['method', 'route', 'status'] as const;
    const duration = new Histogram({
      name: 'strata_http_request_duration_seconds',
      help: 'Time from receiving a request to answering it, by method, route pattern and status code',
      labelNames,
      buckets: DURATION_BUCKETS,
      registers: [register],
    });
    // One observation per request: the request count is the histogram's, copied at scrape time.
    const durationCount = 'strata_http_request_duration_seconds_count';
    new Counter({
      name: 'strata_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames,
      registers: [register],
      async collect() {
        const { values } = await duration.get();
        this.reset();
        for (const v of values) if (v.metricName === durationCount) this.inc(v.labels, v.value);
      },
    });
    // A callback hook: no promise and no extra tick per request.
    app.addHook('onResponse', (request, reply, done) => {
      duration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode },
        reply.elapsedTime / 1000,
      );
      done();
    });

    new Gauge({
      name: 'strata_pool_threads',
      help: 'Worker threads in the search pool',
      registers: [register],
      collect() {
        this.set(db.poolStats().threads);
      },
    });
    new Gauge({
      name: 'strata_pool_busy_workers',
      help: 'Worker threads running a task',
      registers: [register],
      collect() {
        this.set(db.poolStats().busy);
      },
    });
    new Gauge({
      name: 'strata_pool_queue_depth',
      help: 'Search and scan tasks waiting for a worker',
      registers: [register],
      collect() {
        this.set(db.poolStats().queued);
      },
    });
    new Gauge({
      name: 'strata_write_queue_depth',
      help: 'Client writes queued or being applied, across collections (bounded by STRATA_WRITE_QUEUE_SIZE)',
      registers: [register],
      collect() {
        this.set(db.writeGate.size);
      },
    });
    // The workers' isolates: their heaps are in the process's resident memory but not in strata_nodejs_heap_*
    // (the main thread's). Summed over the live workers, from their last report (every 2 s).
    const workerHeap = [
      ['strata_worker_heap_used_bytes', 'V8 heap in use in the worker threads, summed', 'usedBytes'],
      ['strata_worker_heap_size_bytes', 'V8 heap reserved by the worker threads, summed', 'sizeBytes'],
      [
        'strata_worker_external_memory_bytes',
        'Off-heap memory (buffers) held by the worker threads, summed',
        'externalBytes',
      ],
    ] as const;
    for (const [name, help, field] of workerHeap) {
      new Gauge({
        name,
        help,
        registers: [register],
        collect() {
          this.set(db.poolStats().workerHeap[field]);
        },
      });
    }
    // Which kind of page the resident memory is (Linux): anonymous (heaps, malloc, segment memories), file
    // (code, mapped files) or shared memory. The total is strata_process_resident_memory_bytes.
    new Gauge({
      name: 'strata_process_resident_memory_kind_bytes',
      help: 'Resident memory by kind of page (anon, file, shmem), from /proc/self/status (Linux only)',
      labelNames: ['kind'],
      registers: [register],
      collect() {
        this.reset();
        for (const [kind, bytes] of Object.entries(residentByKind())) this.set({ kind }, bytes);
      },
    });
    new Counter({
      name: 'strata_pool_tasks_completed_total',
      help: 'Tasks the worker pool has finished',
      registers: [register],
      collect() {
        this.reset();
        this.inc(db.poolStats().completed);
      },
    });
    new Gauge({
      name: 'strata_collection_points',
      help: 'Live points per collection',
      labelNames: ['collection'],
      registers: [register],
      collect() {
        this.reset();
        for (const c of db.list()) this.set({ collection: c.name }, c.pointsCount);
      },
    });
    new Gauge({
      name: 'strata_collection_segments',
      help: 'Segments per collection (growing and sealed)',
      labelNames: ['collection'],
      registers: [register],
      collect() {
        this.reset();
        for (const c of db.list()) this.set({ collection: c.name }, c.segments.length);
      },
    });
    new Gauge({
      name: 'strata_collection_backlog_rows',
      help: 'Replaced or deleted rows held in memory per collection until the optimizer drops them (upserts get 503 STRATA_ERR_OPTIMIZER_BACKLOG past STRATA_OPTIMIZER_BACKLOG_RATIO / _ROWS)',
      labelNames: ['collection'],
      registers: [register],
      collect() {
        this.reset();
        for (const c of db.list()) this.set({ collection: c.name }, c.deadRows);
      },
    });
    new Counter({
      name: 'strata_planner_branch_total',
      help: 'Segment searches by planner branch (plain, plain_filtered, graph, filtered_graph, graph_fallback)',
      labelNames: ['branch'],
      registers: [register],
      collect() {
        this.reset();
        for (const [branch, n] of Object.entries(db.planCounts)) this.inc({ branch }, n);
      },
    });
    new Counter({
      name: 'strata_optimizer_jobs_total',
      help: 'Optimizer jobs finished, by kind (seal, merge, vacuum, repartition, place; failed counts the jobs that failed)',
      labelNames: ['kind'],
      registers: [register],
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(db.optimizer.finished)) this.inc({ kind }, n);
      },
    });

    new Gauge({
      name: 'strata_search_recall',
      help: 'Recall@k of sampled searches against an exact re-run, mean of the last 1,000 samples per collection',
      labelNames: ['collection'],
      registers: [register],
      collect() {
        this.reset();
        for (const c of db.list()) {
          const { recall_at_k } = db.recall.of(c);
          if (recall_at_k !== null) this.set({ collection: c.name }, recall_at_k);
        }
      },
    });
    new Counter({
      name: 'strata_search_recall_samples_total',
      help: 'Searches the recall monitor measured, per collection',
      labelNames: ['collection'],
      registers: [register],
      collect() {
        this.reset();
        for (const c of db.list()) this.inc({ collection: c.name }, db.recall.of(c).samples);
      },
    });

    app.get(
      '/metrics',
      {
        schema: {
          tags: ['service'],
          summary: 'Prometheus metrics (text exposition format)',
          produces: ['text/plain'],
          response: { 200: Type.String() },
        },
      },
      async (_request, reply) => reply.type(register.contentType).send(await register.metrics()),
    );
  },
  { name: 'metrics', dependencies: ['storage'] },
);

/** RssAnon, RssFile and RssShmem of /proc/self/status in bytes; empty where there is no /proc (not Linux). */
function residentByKind(): Record<string, number> {
  let status: string;
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, number> = {};
  for (const m of status.matchAll(/^Rss(Anon|File|Shmem):\s+(\d+) kB$/gm))
    out[m[1]!.toLowerCase()] = Number(m[2]) * 1024;
  return out;
}
