import fs from 'node:fs';
import type { RestClient } from './http.js';
import { progress, summary } from './progress.js';
import { type Format, formatOf, openSource, type PointRecord, readPoints } from './readers.js';

export interface ImportOptions {
  readonly collection: string;
  readonly file: string;
  readonly format?: Format | undefined;
  readonly batchSize: number;
  /** Batches in flight at once; reading waits while that many are unanswered (memory stays bounded). */
  readonly parallel: number;
  readonly idOffset: number;
  readonly create: boolean;
  readonly distance: string;
  readonly dim?: number | undefined;
  readonly quiet: boolean;
}

const pathOf = (collection: string) => `/collections/${encodeURIComponent(collection)}`;

/** Creates the collection when it is missing (--create), sized from --dim or the first vector of the file. */
async function ensureCollection(client: RestClient, options: ImportOptions, firstDim: number): Promise<string | null> {
  const { exists } = await client.call<{ exists: boolean }>('GET', `${pathOf(options.collection)}/exists`);
  if (exists) return null;
  const size = options.dim ?? firstDim;
  await client.call('PUT', pathOf(options.collection), { vectors: { size, distance: options.distance } });
  return `created collection ${options.collection} (${size} dimensions, ${options.distance})`;
}

/** Streams the file into the collection in batches; resolves with the summary line. */
export async function importFile(client: RestClient, options: ImportOptions): Promise<string> {
  const started = performance.now();
  const format = options.format ?? formatOf(options.file);
  const source = openSource(options.file);
  const bar = progress(`importing ${options.collection}`, fs.statSync(options.file).size, options.quiet);
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  let sent = 0;

  const send = (points: PointRecord[]) => {
    const done: Promise<void> = client
      .call('PUT', `${pathOf(options.collection)}/points?wait=true`, { points })
      .then(
        () => {
          sent += points.length;
          bar.update(source.bytesRead(), sent);
        },
        (e: unknown) => {
          failure ??= e;
        },
      )
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  const drainTo = async (limit: number) => {
    while (inFlight.size > limit && failure === null) await Promise.race(inFlight);
    if (failure !== null) throw failure;
  };

  try {
    let batch: PointRecord[] = [];
    let first = true;
    for await (const point of readPoints(source, format, options.idOffset)) {
      if (first && options.create) {
        const created = await ensureCollection(client, options, point.vector.length);
        if (created) bar.note(created);
      }
      first = false;
      batch.push(point);
      if (batch.length >= options.batchSize) {
        send(batch);
        batch = [];
        await drainTo(options.parallel - 1);
      }
    }
    if (batch.length > 0) send(batch);
    await drainTo(0);
  } finally {
    source.stream.destroy();
    bar.stop();
  }
  return summary('imported', sent, `into ${options.collection}`, started);
}
