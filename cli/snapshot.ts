import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { type RestClient, RestError, streamingRequest } from './http.js';
import { byteProgress, byteSummary, mebibytes } from './progress.js';

/** What the server says about one archive (Qdrant's SnapshotDescription). */
export interface SnapshotDescription {
  readonly name: string;
  readonly creation_time: string;
  readonly size: number;
  /** sha256 of the archive, hex. */
  readonly checksum: string;
}

const snapshotsOf = (collection: string) => `/collections/${encodeURIComponent(collection)}/snapshots`;

export function createSnapshot(client: RestClient, collection: string): Promise<SnapshotDescription> {
  return client.call('POST', snapshotsOf(collection));
}

export function listSnapshots(client: RestClient, collection: string): Promise<SnapshotDescription[]> {
  return client.call('GET', snapshotsOf(collection));
}

export async function deleteSnapshot(client: RestClient, collection: string, snapshot: string): Promise<string> {
  await client.call('DELETE', `${snapshotsOf(collection)}/${encodeURIComponent(snapshot)}`);
  return `deleted snapshot ${snapshot} of ${collection}`;
}

/** One line per snapshot, oldest first, in aligned columns. */
export function formatSnapshots(list: readonly SnapshotDescription[]): string {
  if (list.length === 0) return 'no snapshots';
  const rows = [
    ['NAME', 'CREATED', 'SIZE (MB)', 'SHA256'],
    ...list.map((s) => [s.name, s.creation_time, mebibytes(s.size), s.checksum]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A pass-through stream that shows every chunk to `see` (byte counts, hashes) on its way. */
function meter(see: (chunk: Uint8Array) => void): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      see(chunk);
      controller.enqueue(chunk);
    },
  });
}

/** Points in the collection now, for the last line of a restore. */
async function pointsIn(client: RestClient, collection: string): Promise<number> {
  const info = await client.call<{ points_count: number }>('GET', `/collections/${encodeURIComponent(collection)}`);
  return info.points_count;
}

export interface DownloadOptions {
  readonly collection: string;
  readonly snapshot: string;
  /** Where to write it; the snapshot's name in the working directory by default. */
  readonly file?: string | undefined;
  readonly quiet: boolean;
}

/**
 * Streams the archive to `<file>.partial`, hashing it on the way, and renames it to `file` only when its sha256
 * is the one the server reported: a cut or corrupted download never looks like a snapshot.
 */
export async function downloadSnapshot(client: RestClient, options: DownloadOptions): Promise<string> {
  const started = performance.now();
  const { collection, snapshot } = options;
  const described = (await listSnapshots(client, collection)).find((s) => s.name === snapshot);
  if (described === undefined) {
    throw new RestError(404, 'STRATA_ERR_SNAPSHOT_NOT_FOUND', `Snapshot ${snapshot} of ${collection} not found`);
  }
  const target = options.file ?? described.name;
  const partial = `${target}.partial`;
  const response = await client.send('GET', `${snapshotsOf(collection)}/${encodeURIComponent(snapshot)}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const bar = byteProgress(`downloading ${snapshot}`, described.size, options.quiet);
  const counted = (response.body as ReadableStream<Uint8Array>).pipeThrough(
    meter((chunk) => {
      hash.update(chunk);
      bytes += chunk.byteLength;
      bar.update(bytes, 0);
    }),
  );
  try {
    await pipeline(Readable.fromWeb(counted as NodeReadableStream<Uint8Array>), fs.createWriteStream(partial));
  } catch (e) {
    await fsp.rm(partial, { force: true });
    throw e;
  } finally {
    bar.stop();
  }
  const actual = hash.digest('hex');
  if (actual !== described.checksum) {
    await fsp.rm(partial, { force: true });
    throw new Error(
      `checksum mismatch: the download of ${snapshot} has sha256 ${actual}, the server reported ${described.checksum}; nothing was written`,
    );
  }
  await fsp.rename(partial, target);
  return byteSummary(`downloaded ${snapshot} to ${target}, sha256 verified`, bytes, started);
}

export interface UploadOptions {
  readonly collection: string;
  readonly file: string;
  /** sha256 the server checks the archive against before restoring it. */
  readonly checksum?: string | undefined;
  readonly quiet: boolean;
}

/**
 * Restores `collection` from a local archive: a multipart upload (field `snapshot`) whose body is streamed from
 * the file as the request goes out, so memory stays the same whatever the archive's size.
 */
export async function uploadSnapshot(client: RestClient, options: UploadOptions): Promise<string> {
  const started = performance.now();
  const name = path.basename(options.file);
  // a handle on the file, not its bytes: they are read chunk by chunk while the body streams
  const archive = await fs.openAsBlob(options.file);
  const bar = byteProgress(`uploading ${name}`, archive.size, options.quiet);
  const query = options.checksum ? `?checksum=${options.checksum}` : '';
  try {
    await client.send(
      'POST',
      `${snapshotsOf(options.collection)}/upload${query}`,
      () => {
        const form = new FormData();
        form.append('snapshot', archive, name);
        // undici writes the multipart framing and pulls the file lazily; counting what leaves drives the bar
        const framed = new Response(form);
        let sent = 0;
        return {
          headers: { 'content-type': framed.headers.get('content-type') ?? '' },
          body: (framed.body as ReadableStream<Uint8Array>).pipeThrough(
            meter((chunk) => {
              sent += chunk.byteLength;
              bar.update(Math.min(sent, archive.size), 0);
            }),
          ),
        };
      },
      streamingRequest,
    );
  } finally {
    bar.stop();
  }
  const points = await pointsIn(client, options.collection);
  return byteSummary(`uploaded ${options.file} into ${options.collection}, ${points} points`, archive.size, started);
}

export interface RestoreOptions {
  readonly collection: string;
  /** A snapshot name (of any collection), or a file:// or http(s):// URL the server reads. */
  readonly location: string;
  readonly checksum?: string | undefined;
  /** Sent by the server as `api-key` when it downloads an http(s) location. */
  readonly sourceApiKey?: string | undefined;
}

/** Restores `collection` (created or replaced) from a location the server can reach itself. */
export async function restoreSnapshot(client: RestClient, options: RestoreOptions): Promise<string> {
  await client.call('PUT', `${snapshotsOf(options.collection)}/recover`, {
    location: options.location,
    ...(options.checksum ? { checksum: options.checksum } : {}),
    ...(options.sourceApiKey ? { api_key: options.sourceApiKey } : {}),
  });
  const points = await pointsIn(client, options.collection);
  return `restored ${options.collection} from ${options.location}, ${points} points`;
}
