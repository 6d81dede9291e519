import { once } from 'node:events';
import fs from 'node:fs';
import { stringifyJson } from '../server/json.js';
import type { RestClient } from './http.js';
import { progress, summary } from './progress.js';
import type { PointId, PointRecord } from './readers.js';

export interface ExportOptions {
  readonly collection: string;
  /** A .jsonl path, or `-` for stdout. */
  readonly file: string;
  readonly batchSize: number;
  readonly quiet: boolean;
}

/** Scrolls every point (id order, with vector and payload) into JSON lines that `strata import` reads back. */
export async function exportCollection(client: RestClient, options: ExportOptions): Promise<string> {
  const started = performance.now();
  const route = `/collections/${encodeURIComponent(options.collection)}`;
  const info = await client.call<{ points_count: number }>('GET', route);
  const out = options.file === '-' ? process.stdout : fs.createWriteStream(options.file);
  const bar = progress(`exporting ${options.collection}`, info.points_count, options.quiet || options.file === '-');
  let written = 0;
  let offset: PointId | null = null;
  try {
    do {
      const page: { points: Required<PointRecord>[]; next_page_offset: PointId | null } = await client.call(
        'POST',
        `${route}/points/scroll`,
        { limit: options.batchSize, with_vector: true, with_payload: true, ...(offset === null ? {} : { offset }) },
      );
      let text = '';
      for (const p of page.points) text += `${stringifyJson({ id: p.id, vector: p.vector, payload: p.payload })}\n`;
      if (!out.write(text)) await once(out, 'drain');
      written += page.points.length;
      bar.update(written, written);
      offset = page.next_page_offset;
    } while (offset !== null);
  } finally {
    bar.stop();
    if (out !== process.stdout) {
      out.end();
      await once(out, 'finish');
    }
  }
  return summary('exported', written, `from ${options.collection} to ${options.file}`, started);
}
