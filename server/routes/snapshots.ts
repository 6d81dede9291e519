import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { StrataError } from '../../storage/index.js';
import { CollectionNameParams, ERROR_RESPONSES, OkResult } from '../schemas/common.js';
import {
  RecoverSnapshotSchema,
  SnapshotListResult,
  SnapshotParams,
  SnapshotResult,
  SnapshotWaitQuery,
  UploadSnapshotQuery,
} from '../schemas/snapshot.js';
import { ok } from './envelope.js';

/** Time allowed to download a snapshot from an http(s) location. */
const DOWNLOAD_TIMEOUT_MS = 30 * 60_000;

/** Fails the stream once more than `limit` bytes went through: no archive is silently truncated. */
function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.byteLength;
      if (seen > limit) done(new StrataError('STRATA_ERR_BODY_TOO_LARGE', [limit]));
      else done(null, chunk);
    },
  });
}

/** Downloads an http(s) snapshot location into `file`. */
async function download(url: URL, file: string, limit: number, apiKey: string | undefined): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: apiKey ? { 'api-key': apiKey } : {},
      signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
    });
  } catch (e) {
    throw new StrataError('STRATA_ERR_SNAPSHOT_INVALID', [`cannot download ${url.origin}: ${(e as Error).message}`]);
  }
  if (!res.ok || res.body === null)
    throw new StrataError('STRATA_ERR_SNAPSHOT_INVALID', [`download answered HTTP ${res.status}`]);
  await pipeline(Readable.fromWeb(res.body as never), byteLimit(limit), createWriteStream(file));
}

/**
 * Snapshots, as Qdrant names them: create, list, download, delete, recover from a location, upload. An
 * archive holds one collection (its catalog rows and segment files, checksummed); see storage/snapshots.ts.
 */
const routes: FastifyPluginAsyncTypebox<{ maxSnapshotMb: number }> = async (app, opts) => {
  const tags = ['snapshots'];
  const limit = opts.maxSnapshotMb * 1024 * 1024;
  // multipart only in this plugin: the upload route is the one route that takes a file
  await app.register(multipart, { limits: { fileSize: limit, files: 1, fields: 10, parts: 11 } });

  app.post(
    '/collections/:collection_name/snapshots',
    {
      schema: {
        tags,
        summary: 'Create a snapshot of a collection (consistent while writes continue)',
        params: CollectionNameParams,
        querystring: SnapshotWaitQuery,
        response: { 200: SnapshotResult, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => ok(reply, await app.db.createSnapshot(req.params.collection_name)),
  );
  app.get(
    '/collections/:collection_name/snapshots',
    {
      schema: {
        tags,
        summary: 'List the snapshots of a collection (also after the collection was deleted)',
        params: CollectionNameParams,
        response: { 200: SnapshotListResult, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => ok(reply, await app.db.listSnapshots(req.params.collection_name)),
  );
  app.get(
    '/collections/:collection_name/snapshots/:snapshot_name',
    {
      schema: {
        tags,
        summary: 'Download a snapshot archive',
        params: SnapshotParams,
        response: {
          200: Type.String({ format: 'binary', description: 'The archive (application/octet-stream)' }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (req, reply) => {
      const file = await app.db.snapshotFile(req.params.collection_name, req.params.snapshot_name);
      const stat = await fs.stat(file);
      return (
        reply
          .header('content-type', 'application/octet-stream')
          .header('content-length', stat.size)
          .header('content-disposition', `attachment; filename="${path.basename(file)}"`)
          // a stream goes out as bytes; the typed reply only knows the documented (string) body
          .send(createReadStream(file) as never)
      );
    },
  );
  app.delete(
    '/collections/:collection_name/snapshots/:snapshot_name',
    {
      schema: {
        tags,
        summary: 'Delete a snapshot',
        params: SnapshotParams,
        querystring: SnapshotWaitQuery,
        response: { 200: OkResult, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      await app.db.deleteSnapshot(req.params.collection_name, req.params.snapshot_name);
      return ok(reply, true);
    },
  );
  app.put(
    '/collections/:collection_name/snapshots/recover',
    {
      schema: {
        tags,
        summary: 'Restore a collection from a snapshot (replaces it if it exists, or creates it)',
        params: CollectionNameParams,
        querystring: SnapshotWaitQuery,
        body: RecoverSnapshotSchema,
        response: { 200: OkResult, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const name = req.params.collection_name;
      const { location, checksum, api_key } = req.body;
      if (/^https?:\/\//i.test(location)) {
        let url: URL;
        try {
          url = new URL(location);
        } catch {
          throw new StrataError('STRATA_ERR_SNAPSHOT_LOCATION', [JSON.stringify(location.slice(0, 260))]);
        }
        const file = await app.db.snapshotUploadFile();
        try {
          await download(url, file, limit, api_key);
          await app.db.restoreSnapshot(name, file, checksum ?? null);
        } finally {
          await fs.rm(file, { force: true });
        }
      } else {
        await app.db.restoreSnapshot(name, await app.db.snapshotLocation(name, location), checksum ?? null);
      }
      return ok(reply, true);
    },
  );
  app.post(
    '/collections/:collection_name/snapshots/upload',
    {
      schema: {
        tags,
        summary: 'Restore a collection from an uploaded archive (multipart/form-data, field `snapshot`)',
        consumes: ['multipart/form-data'],
        params: CollectionNameParams,
        querystring: UploadSnapshotQuery,
        response: { 200: OkResult, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      if (!req.isMultipart())
        throw new StrataError('STRATA_ERR_UNSUPPORTED_MEDIA_TYPE', [
          `${req.headers['content-type'] ?? 'none'}; send multipart/form-data with the archive in field \`snapshot\``,
        ]);
      const part = await req.file();
      if (part === undefined) throw new StrataError('STRATA_ERR_SNAPSHOT_INVALID', ['no file in the form']);
      const file = await app.db.snapshotUploadFile();
      try {
        try {
          await pipeline(part.file, createWriteStream(file));
        } catch (e) {
          if ((e as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
            throw new StrataError('STRATA_ERR_BODY_TOO_LARGE', [limit]);
          throw e;
        }
        if (part.file.truncated) throw new StrataError('STRATA_ERR_BODY_TOO_LARGE', [limit]);
        await app.db.restoreSnapshot(req.params.collection_name, file, req.query.checksum ?? null);
      } finally {
        await fs.rm(file, { force: true });
      }
      return ok(reply, true);
    },
  );
};

export default routes;
