/**
 * Snapshot archives: one tar file per snapshot holding a manifest (every file's size and sha256), the
 * collection's catalog rows as a small SQLite file, and its sealed segments' files. Archives live under
 * `<data>/snapshots/<collection>/`, each with a `.sha256` sidecar holding the archive's own checksum.
 * Building and unpacking go through a staging directory inside the data directory, so segment files can be
 * hard-linked (no copy) and a finished archive appears by one rename.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { StrataError } from './errors.js';

export const SNAPSHOT_FORMAT = 'strata-snapshot';
export const SNAPSHOT_FORMAT_VERSION = 1;
export const SNAPSHOT_MANIFEST = 'manifest.json';
export const SNAPSHOT_CATALOG = 'collection.sqlite';
export const SNAPSHOT_SEGMENTS = 'segments';
const SNAPSHOT_EXT = '.snapshot';
const CHECKSUM_EXT = '.sha256';
/** Snapshot file names: no path separators, no leading dot (those are staging files). */
const SNAPSHOT_NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,250}\.snapshot$/;

export interface SnapshotManifest {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: number;
  readonly collection: string;
  readonly created_at: string;
  readonly points_count: number;
  /** Archive-relative path → size and sha256 (hex). */
  readonly files: Readonly<Record<string, { readonly bytes: number; readonly sha256: string }>>;
}

/** Qdrant's SnapshotDescription. */
export interface SnapshotDescription {
  readonly name: string;
  readonly creation_time: string;
  readonly size: number;
  readonly checksum: string;
}

export function snapshotsRoot(dataDir: string): string {
  return path.join(dataDir, 'snapshots');
}

export function collectionSnapshotsDir(dataDir: string, collection: string): string {
  return path.join(snapshotsRoot(dataDir), collection);
}

/** A fresh staging path inside the data directory (same file system as the segments: hard links work). */
export function stagingPath(dataDir: string, kind: string): string {
  return path.join(snapshotsRoot(dataDir), `.${kind}-${randomBytes(6).toString('hex')}`);
}

export function checkSnapshotName(name: string): void {
  if (!SNAPSHOT_NAME_RE.test(name) || name.includes('..'))
    throw new StrataError('STRATA_ERR_SNAPSHOT_NOT_FOUND', [JSON.stringify(name.slice(0, 260))]);
}

export function newSnapshotName(collection: string, at: Date): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  return `${collection}-${stamp}-${randomBytes(4).toString('hex')}${SNAPSHOT_EXT}`;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Every regular file under `dir`, as '/'-separated paths relative to it, in a stable order. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(path.join(dir, prefix), { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/** Removes staging directories and partial archives left by a crash (names starting with '.'). */
export async function removeSnapshotStaging(dataDir: string): Promise<void> {
  const root = snapshotsRoot(dataDir);
  const entries = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const full = path.join(root, entry.name);
    if (entry.name.startsWith('.')) await fs.rm(full, { recursive: true, force: true });
    else if (entry.isDirectory()) {
      for (const inner of await fs.readdir(full)) {
        if (inner.startsWith('.')) await fs.rm(path.join(full, inner), { recursive: true, force: true });
      }
    }
  }
}

/**
 * Packs a staged snapshot directory (catalog file + segments) into `<dir>/<name>` with a manifest, fsyncs it,
 * writes the checksum sidecar and returns the description. The archive appears under its name only whole.
 */
export async function packSnapshot(
  staging: string,
  dir: string,
  name: string,
  meta: { collection: string; createdAt: Date; pointsCount: number },
): Promise<SnapshotDescription> {
  const files: Record<string, { bytes: number; sha256: string }> = {};
  for (const rel of await listFiles(staging)) {
    const stat = await fs.stat(path.join(staging, rel));
    files[rel] = { bytes: stat.size, sha256: await sha256File(path.join(staging, rel)) };
  }
  const manifest: SnapshotManifest = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_FORMAT_VERSION,
    collection: meta.collection,
    created_at: meta.createdAt.toISOString(),
    points_count: meta.pointsCount,
    files,
  };
  await fs.writeFile(path.join(staging, SNAPSHOT_MANIFEST), JSON.stringify(manifest, null, 2));
  await fs.mkdir(dir, { recursive: true });
  const partial = path.join(dir, `.${name}.part`);
  await tar.create({ file: partial, cwd: staging, portable: true, noDirRecurse: false }, [
    SNAPSHOT_MANIFEST,
    ...Object.keys(files),
  ]);
  await fsyncFile(partial);
  const checksum = await sha256File(partial);
  const final = path.join(dir, name);
  await fs.writeFile(`${partial}${CHECKSUM_EXT}`, `${checksum}  ${name}\n`);
  await fsyncFile(`${partial}${CHECKSUM_EXT}`);
  await fs.rename(partial, final);
  await fs.rename(`${partial}${CHECKSUM_EXT}`, `${final}${CHECKSUM_EXT}`);
  // the listing reports the file's modification time as its creation time
  await fs.utimes(final, meta.createdAt, meta.createdAt);
  await fsyncFile(dir);
  const stat = await fs.stat(final);
  return { name, creation_time: manifest.created_at, size: stat.size, checksum };
}

/** The archives of one collection, oldest first. */
export async function listSnapshots(dir: string): Promise<SnapshotDescription[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const out: SnapshotDescription[] = [];
  for (const name of names.filter((n) => SNAPSHOT_NAME_RE.test(n))) {
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => null);
    if (stat === null) continue;
    out.push({
      name,
      creation_time: stat.mtime.toISOString(),
      size: stat.size,
      checksum: await readChecksum(file),
    });
  }
  return out.sort((a, b) => a.creation_time.localeCompare(b.creation_time) || a.name.localeCompare(b.name));
}

async function readChecksum(file: string): Promise<string> {
  const sidecar = await fs.readFile(`${file}${CHECKSUM_EXT}`, 'utf8').catch(() => null);
  const recorded = sidecar?.split(/\s+/)[0];
  return recorded && /^[0-9a-f]{64}$/.test(recorded) ? recorded : sha256File(file);
}

/** Path of an existing snapshot archive of a collection; 404 when there is none by that name. */
export async function snapshotFile(dataDir: string, collection: string, name: string): Promise<string> {
  checkSnapshotName(name);
  const file = path.join(collectionSnapshotsDir(dataDir, collection), name);
  const stat = await fs.stat(file).catch(() => null);
  if (stat === null || !stat.isFile()) throw new StrataError('STRATA_ERR_SNAPSHOT_NOT_FOUND', [JSON.stringify(name)]);
  return file;
}

export async function deleteSnapshot(dataDir: string, collection: string, name: string): Promise<void> {
  const file = await snapshotFile(dataDir, collection, name);
  await fs.rm(`${file}${CHECKSUM_EXT}`, { force: true });
  await fs.rm(file, { force: true });
}

function invalid(reason: string): StrataError {
  return new StrataError('STRATA_ERR_SNAPSHOT_INVALID', [reason]);
}

/**
 * Unpacks an archive into `staging` and verifies it: the archive checksum when one is expected, only plain
 * files at safe relative paths, a Strata manifest, and every listed file present with its size and sha256
 * (and nothing unlisted). Throws STRATA_ERR_SNAPSHOT_INVALID naming what is wrong.
 */
export async function unpackSnapshot(
  archive: string,
  staging: string,
  expectedChecksum: string | null,
): Promise<SnapshotManifest> {
  if (expectedChecksum !== null) {
    const actual = await sha256File(archive);
    if (actual !== expectedChecksum.toLowerCase())
      throw invalid(`checksum ${actual} does not match the expected ${expectedChecksum}`);
  }
  await fs.mkdir(staging, { recursive: true });
  const rejected: string[] = [];
  try {
    await tar.extract({
      file: archive,
      cwd: staging,
      strict: true,
      preservePaths: false,
      filter: (entryPath, entry) => {
        const type = 'type' in entry ? entry.type : 'File';
        const safe =
          (type === 'File' || type === 'Directory') &&
          !entryPath.split('/').includes('..') &&
          !path.isAbsolute(entryPath);
        if (!safe) rejected.push(entryPath);
        return safe;
      },
    });
  } catch (e) {
    throw invalid(`not a readable tar archive (${(e as Error).message})`);
  }
  if (rejected.length > 0) throw invalid(`unsafe entries ${JSON.stringify(rejected.slice(0, 5))}`);
  let manifest: SnapshotManifest;
  try {
    manifest = JSON.parse(await fs.readFile(path.join(staging, SNAPSHOT_MANIFEST), 'utf8')) as SnapshotManifest;
  } catch (e) {
    throw invalid(`no readable ${SNAPSHOT_MANIFEST} (${(e as Error).message})`);
  }
  if (manifest?.format !== SNAPSHOT_FORMAT || typeof manifest.files !== 'object' || manifest.files === null)
    throw invalid('not a Strata snapshot manifest');
  if (manifest.version !== SNAPSHOT_FORMAT_VERSION)
    throw invalid(`format version ${manifest.version}, this server reads ${SNAPSHOT_FORMAT_VERSION}`);
  const present = new Set((await listFiles(staging)).filter((f) => f !== SNAPSHOT_MANIFEST));
  for (const [rel, expected] of Object.entries(manifest.files)) {
    if (!present.delete(rel)) throw invalid(`${rel} is listed in the manifest but missing`);
    const stat = await fs.stat(path.join(staging, rel));
    if (stat.size !== expected.bytes) throw invalid(`${rel} is ${stat.size} bytes, manifest says ${expected.bytes}`);
    if ((await sha256File(path.join(staging, rel))) !== expected.sha256) throw invalid(`${rel}: checksum mismatch`);
  }
  if (present.size > 0) throw invalid(`unlisted files ${JSON.stringify([...present].slice(0, 5))}`);
  if (!(SNAPSHOT_CATALOG in manifest.files)) throw invalid(`${SNAPSHOT_CATALOG} is missing`);
  return manifest;
}

/** A snapshot file name: the collection's own first, then any collection's (names are unique). */
async function findSnapshotByName(dataDir: string, collection: string, name: string): Promise<string> {
  checkSnapshotName(name);
  const others = await fs.readdir(snapshotsRoot(dataDir)).catch(() => [] as string[]);
  for (const dir of [collection, ...others.filter((d) => d !== collection && !d.startsWith('.'))]) {
    const found = await snapshotFile(dataDir, dir, name).catch(() => null);
    if (found !== null) return found;
  }
  throw new StrataError('STRATA_ERR_SNAPSHOT_NOT_FOUND', [JSON.stringify(name)]);
}

/**
 * Resolves a recover `location` that names a local archive: a snapshot file name (of any collection), or a
 * `file://` URL / absolute path inside the snapshots directory (nothing else on the host is readable).
 */
export async function localSnapshotLocation(dataDir: string, collection: string, location: string): Promise<string> {
  if (!location.includes('/')) return findSnapshotByName(dataDir, collection, location);
  let file: string;
  try {
    file = location.startsWith('file:') ? new URL(location).pathname : location;
    file = decodeURIComponent(file);
  } catch {
    throw new StrataError('STRATA_ERR_SNAPSHOT_LOCATION', [JSON.stringify(location.slice(0, 260))]);
  }
  const root = await fs.realpath(snapshotsRoot(dataDir)).catch(() => snapshotsRoot(dataDir));
  const real = await fs.realpath(path.resolve(file)).catch(() => null);
  if (real === null || !real.startsWith(`${root}${path.sep}`))
    throw new StrataError('STRATA_ERR_SNAPSHOT_LOCATION', [JSON.stringify(location.slice(0, 260))]);
  checkSnapshotName(path.basename(real));
  return real;
}
