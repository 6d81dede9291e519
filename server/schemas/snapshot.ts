import { Type } from '@sinclair/typebox';
import { Envelope } from './common.js';

/** Qdrant's SnapshotDescription; `checksum` is the archive's sha256 (hex). */
export const SnapshotDescriptionSchema = Type.Object({
  name: Type.String(),
  creation_time: Type.String({ format: 'date-time' }),
  size: Type.Integer({ minimum: 0 }),
  checksum: Type.String(),
});

export const SnapshotResult = Envelope(SnapshotDescriptionSchema);
export const SnapshotListResult = Envelope(Type.Array(SnapshotDescriptionSchema));

export const SnapshotParams = Type.Object({
  collection_name: Type.String({ description: 'Collection name: 1-128 of A-Z a-z 0-9 _ -' }),
  snapshot_name: Type.String({ description: 'A snapshot file name as listed by GET .../snapshots' }),
});

const Sha256 = Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'Expected sha256 of the archive (hex)' });
const Priority = Type.Union([Type.Literal('replica'), Type.Literal('snapshot'), Type.Literal('no_sync')], {
  description: 'Accepted for Qdrant compatibility; Strata has one replica, so it changes nothing',
});

export const RecoverSnapshotSchema = Type.Object(
  {
    location: Type.String({
      minLength: 1,
      maxLength: 4096,
      description:
        "A snapshot name of this collection, a file:// URL or path under the data directory's snapshots folder, or an http(s) URL to download",
    }),
    priority: Type.Optional(Priority),
    checksum: Type.Optional(Sha256),
    api_key: Type.Optional(Type.String({ description: 'Sent as `api-key` when downloading an http(s) location' })),
  },
  { additionalProperties: false },
);

const Timeout = Type.Optional(Type.Integer({ minimum: 1, description: 'Accepted for Qdrant compatibility' }));

export const SnapshotWaitQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ description: 'Answer once done (always true in Strata)' })),
  timeout: Timeout,
});

export const UploadSnapshotQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ description: 'Answer once done (always true in Strata)' })),
  priority: Type.Optional(Priority),
  checksum: Type.Optional(Sha256),
  timeout: Timeout,
});
