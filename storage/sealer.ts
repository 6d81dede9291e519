import type { Catalog } from './catalog.js';
import type { Collection } from './collection.js';
import { encodePointId } from './point-id.js';
import type { Segment } from './segment.js';
import {
  encodeIds,
  encodePayloads,
  encodeVectors,
  SEGMENT_FILES,
  SEGMENT_FORMAT_VERSION,
} from './segment-format.js';
import { removeDir, segmentDir, writeSegment } from './segment-store.js';

export interface SealerDeps {
  readonly catalog: Catalog;
  readonly dataDir: string;
  /** Builds the segment's graph on the worker pool; returns its encoded bytes. */
  readonly buildGraph: (segment: Segment, collection: Collection) => Promise<Uint8Array>;
  readonly log: (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;
}

/**
 * Turns frozen growing segments into sealed ones, one at a time, in the background:
 * 1. register the segment as `building` in the catalog (its id names its directory);
 * 2. build the graph in a worker, over the segment's shared memory (reads and writes continue meanwhile);
 * 3. write the files into a temporary directory, fsync, rename into place;
 * 4. in one catalog transaction, ordered with the collection's writes: the live rows leave `points`, rows
 *    deleted during the build become tombstones, and the segment is marked `live`.
 * A crash before 4 leaves the rows in `points` (recovery discards the `building` row and its directory);
 * after 4 the segment loads from its files.
 */
export class Sealer {
  private readonly deps: SealerDeps;
  private readonly queue = new Set<Collection>();
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(deps: SealerDeps) {
    this.deps = deps;
  }

  /** Seals the collection's frozen segments soon. */
  schedule(collection: Collection): void {
    if (this.stopped) return;
    this.queue.add(collection);
    this.running ??= this.loop().finally(() => {
      this.running = null;
      if (this.queue.size > 0) this.schedule([...this.queue][0]!);
    });
  }

  /** Resolves when no sealing work is left (or after the current job when stopping). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    await this.idle();
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.queue.size > 0) {
      const collection = [...this.queue][0]!;
      const segment = collection.segments.find((s) => s.frozen && s.sealedId === null && !s.sealing);
      if (collection.dropped || segment === undefined) {
        this.queue.delete(collection);
        continue;
      }
      await this.seal(collection, segment);
    }
  }

  private async seal(collection: Collection, segment: Segment): Promise<void> {
    const { catalog, dataDir, log } = this.deps;
    const started = Date.now();
    segment.sealing = true;
    const segmentId = catalog.beginSegment(collection.id, segment.count);
    const dir = segmentDir(dataDir, collection.name, segmentId);
    try {
      const graph = await this.deps.buildGraph(segment, collection);
      const data = segment.sealingData();
      const { m, ef_construct } = collection.config.hnsw_config;
      await writeSegment(
        dir,
        {
          [SEGMENT_FILES.vectors]: encodeVectors(data.vectors, segment.dim, segment.count),
          [SEGMENT_FILES.ids]: encodeIds(data.ids),
          [SEGMENT_FILES.payloads]: encodePayloads(data.payloadOffsets, data.payloadBytes, segment.count),
          [SEGMENT_FILES.graph]: graph,
        },
        {
          format: 'strata-segment',
          version: SEGMENT_FORMAT_VERSION,
          segmentId,
          dim: segment.dim,
          count: segment.count,
          distance: collection.distance,
          createdAt: new Date().toISOString(),
          hnsw: { m, efConstruct: ef_construct },
        },
      );
      await collection.commitSealed(segment, segmentId, (absorbed, dead) => {
        catalog.sealSegment(segmentId, collection.id, absorbed.map(encodePointId), dead);
        segment.attachGraph(graph);
      });
      log('info', { collection: collection.name, segment: segmentId, rows: segment.count, ms: Date.now() - started }, 'segment sealed');
    } catch (err) {
      catalog.dropSegment(segmentId);
      await removeDir(dir).catch(() => undefined);
      if (!collection.dropped) log('error', { err, collection: collection.name, segment: segmentId }, 'sealing failed; rows stay in the growing log');
      this.queue.delete(collection);
    } finally {
      segment.sealing = false;
    }
  }
}
