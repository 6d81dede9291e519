/**
 * Segment files on disk: write a sealed segment into a temporary directory, fsync every file, rename the
 * directory into place and fsync its parent, so a crash leaves either no segment or a whole one. Loading
 * verifies every file's size and sha256 against the manifest before anything is decoded.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, linkSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SEGMENT_FILES, SegmentFormatError, type SegmentManifest } from './segment-format.js';

const TMP_PREFIX = '.tmp-';

export function collectionDir(dataDir: string, collection: string): string {
  return path.join(dataDir, 'collections', collection);
}

export function segmentsDir(dataDir: string, collection: string): string {
  return path.join(collectionDir(dataDir, collection), 'segments');
}

export function segmentDir(dataDir: string, collection: string, segmentId: number): string {
  return path.join(segmentsDir(dataDir, collection), String(segmentId));
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function writeDurably(file: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes the files and their manifest durably; returns the final directory. */
export async function writeSegment(
  dir: string,
  files: Readonly<Record<string, Uint8Array>>,
  manifest: Omit<SegmentManifest, 'files'>,
): Promise<string> {
  const parent = path.dirname(dir);
  await fs.mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `${TMP_PREFIX}${path.basename(dir)}`);
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp);
  const listed: Record<string, { bytes: number; sha256: string }> = {};
  for (const [name, bytes] of Object.entries(files)) {
    await writeDurably(path.join(tmp, name), bytes);
    listed[name] = { bytes: bytes.byteLength, sha256: sha256(bytes) };
  }
  const full: SegmentManifest = { ...manifest, files: listed };
  await writeDurably(path.join(tmp, SEGMENT_FILES.manifest), new TextEncoder().encode(JSON.stringify(full, null, 2)));
  await syncDir(tmp);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rename(tmp, dir);
  await syncDir(parent);
  return dir;
}

/** Reads and verifies a segment directory; throws SegmentFormatError naming the bad file. */
export async function readSegment(
  dir: string,
): Promise<{ manifest: SegmentManifest; files: Record<string, Uint8Array> }> {
  const manifestFile = path.join(dir, SEGMENT_FILES.manifest);
  let manifest: SegmentManifest;
  try {
    manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as SegmentManifest;
  } catch (e) {
    throw new SegmentFormatError(manifestFile, `unreadable manifest (${(e as Error).message})`);
  }
  if (manifest.format !== 'strata-segment' || typeof manifest.files !== 'object' || manifest.files === null) {
    throw new SegmentFormatError(manifestFile, 'not a Strata segment manifest');
  }
  const files: Record<string, Uint8Array> = {};
  for (const [name, expected] of Object.entries(manifest.files)) {
    const file = path.join(dir, name);
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(file);
    } catch (e) {
      throw new SegmentFormatError(file, `missing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (bytes.byteLength !== expected.bytes) {
      throw new SegmentFormatError(file, `${bytes.byteLength} bytes, manifest says ${expected.bytes} (truncated?)`);
    }
    if (sha256(bytes) !== expected.sha256) throw new SegmentFormatError(file, 'checksum mismatch (corrupt)');
    files[name] = bytes;
  }
  return { manifest, files };
}

/** Removes temporary and unknown segment directories left by a crash. */
export async function removeOrphans(dir: string, live: ReadonlySet<number>): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith(TMP_PREFIX) || !live.has(Number(entry))) {
      await fs.rm(path.join(dir, entry), { recursive: true, force: true });
      removed.push(entry);
    }
  }
  return removed;
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/**
 * Takes a directory out of the way at once (a rename) and deletes it in the background, so a new directory
 * of the same name (a collection created again, a restore) can never be hit by the late deletion.
 */
export function discardDir(dir: string): void {
  const aside = path.join(path.dirname(dir), `${TMP_PREFIX}discard-${process.pid}-${Date.now()}-${path.basename(dir)}`);
  try {
    renameSync(dir, aside);
  } catch {
    return; // nothing there
  }
  void fs.rm(aside, { recursive: true, force: true }).catch(() => undefined);
}

/** Removes collection directories the catalog does not know (dropped, discarded, or a failed restore's). */
export async function removeOrphanCollections(dataDir: string, known: ReadonlySet<string>): Promise<string[]> {
  const dir = path.join(dataDir, 'collections');
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed = entries.filter((e) => !known.has(e));
  for (const entry of removed) await fs.rm(path.join(dir, entry), { recursive: true, force: true });
  return removed;
}

/** Hard-links (or copies) the files of a flat directory into a new one, synchronously. */
export function linkFilesSync(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    try {
      linkSync(path.join(from, name), path.join(to, name));
    } catch {
      copyFileSync(path.join(from, name), path.join(to, name));
    }
  }
}
