/**
 * The on-disk format of a sealed segment, as pure encode/decode functions (no fs: segment-store.ts does the
 * I/O). Every binary file starts with a 16-byte little-endian header: 4-byte magic, u32 format version and
 * two u32 fields whose meaning depends on the file. Decoders check magic, version and lengths and throw
 * SegmentFormatError naming the file, so a damaged segment is refused instead of being read as garbage.
 */
import { decodePointId, encodePointId, type PointId } from './point-id.js';

export const SEGMENT_FORMAT_VERSION = 1;
const HEADER_BYTES = 16;
/** Fixed width of one id in ids.bin: 0x00 + u64 BE (padded) or 0x01 + 16 UUID bytes. */
const ID_BYTES = 17;

export const SEGMENT_FILES = {
  vectors: 'vectors.f32',
  ids: 'ids.bin',
  payloads: 'payloads.bin',
  graph: 'hnsw.graph',
  quantized: 'quantized.sq8',
  manifest: 'manifest.json',
} as const;

export class SegmentFormatError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'SegmentFormatError';
    this.file = file;
  }
}

export interface SegmentManifest {
  readonly format: 'strata-segment';
  readonly version: number;
  readonly segmentId: number;
  readonly dim: number;
  readonly count: number;
  readonly distance: string;
  readonly createdAt: string;
  readonly hnsw: { readonly m: number; readonly efConstruct: number } | null;
  /** File name → size and sha256 (hex). */
  readonly files: Readonly<Record<string, { readonly bytes: number; readonly sha256: string }>>;
}

function header(magic: string, a: number, b: number, bodyBytes: number): { out: Uint8Array; view: DataView } {
  const out = new Uint8Array(HEADER_BYTES + bodyBytes);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = magic.charCodeAt(i);
  view.setUint32(4, SEGMENT_FORMAT_VERSION, true);
  view.setUint32(8, a, true);
  view.setUint32(12, b, true);
  return { out, view };
}

function readHeader(bytes: Uint8Array, magic: string, file: string): { a: number; b: number; view: DataView } {
  if (bytes.byteLength < HEADER_BYTES)
    throw new SegmentFormatError(file, `truncated: ${bytes.byteLength} bytes, no header`);
  const got = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (got !== magic) throw new SegmentFormatError(file, `bad magic ${JSON.stringify(got)}, expected ${magic}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== SEGMENT_FORMAT_VERSION) {
    throw new SegmentFormatError(file, `format version ${version}, this build reads ${SEGMENT_FORMAT_VERSION}`);
  }
  return { a: view.getUint32(8, true), b: view.getUint32(12, true), view };
}

function expectLength(bytes: Uint8Array, want: number, file: string): void {
  if (bytes.byteLength !== want)
    throw new SegmentFormatError(file, `${bytes.byteLength} bytes, expected ${want} (truncated or padded)`);
}

// ---- vectors.f32: header (dim, count) + float32[count * dim] --------------------------------------------------

export function encodeVectors(vectors: Float32Array, dim: number, count: number): Uint8Array {
  const { out } = header('SVEC', dim, count, count * dim * 4);
  new Float32Array(out.buffer, HEADER_BYTES, count * dim).set(vectors.subarray(0, count * dim));
  return out;
}

export function decodeVectors(
  bytes: Uint8Array,
  file = SEGMENT_FILES.vectors,
): { dim: number; count: number; vectors: Float32Array } {
  const { a: dim, b: count } = readHeader(bytes, 'SVEC', file);
  expectLength(bytes, HEADER_BYTES + dim * count * 4, file);
  // copy into an aligned buffer: the caller moves it into shared memory anyway
  const vectors = new Float32Array(dim * count);
  new Uint8Array(vectors.buffer).set(bytes.subarray(HEADER_BYTES));
  return { dim, count, vectors };
}

// ---- ids.bin: header (count, ID_BYTES) + fixed-width ids --------------------------------------------------------

export function encodeIds(ids: readonly PointId[]): Uint8Array {
  const { out } = header('SIDS', ids.length, ID_BYTES, ids.length * ID_BYTES);
  ids.forEach((id, i) => {
    out.set(encodePointId(id), HEADER_BYTES + i * ID_BYTES);
  });
  return out;
}

export function decodeIds(bytes: Uint8Array, file = SEGMENT_FILES.ids): PointId[] {
  const { a: count, b: width } = readHeader(bytes, 'SIDS', file);
  if (width !== ID_BYTES) throw new SegmentFormatError(file, `id width ${width}, expected ${ID_BYTES}`);
  expectLength(bytes, HEADER_BYTES + count * ID_BYTES, file);
  const ids: PointId[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + i * ID_BYTES;
    const kind = bytes[at];
    if (kind !== 0 && kind !== 1) throw new SegmentFormatError(file, `row ${i}: unknown id kind ${kind}`);
    ids[i] = decodePointId(bytes.subarray(at, at + (kind === 1 ? 17 : 9)));
  }
  return ids;
}

// ---- payloads.bin: header (count, byteLength) + u32 offsets[count + 1] + UTF-8 JSON bytes -----------------------

export function encodePayloads(offsets: Uint32Array, bytes: Uint8Array, count: number): Uint8Array {
  const length = offsets[count]!;
  const { out } = header('SPAY', count, length, (count + 1) * 4 + length);
  new Uint32Array(out.buffer, HEADER_BYTES, count + 1).set(offsets.subarray(0, count + 1));
  out.set(bytes.subarray(0, length), HEADER_BYTES + (count + 1) * 4);
  return out;
}

export function decodePayloads(
  bytes: Uint8Array,
  file = SEGMENT_FILES.payloads,
): { count: number; offsets: Uint32Array; bytes: Uint8Array } {
  const { a: count, b: length } = readHeader(bytes, 'SPAY', file);
  expectLength(bytes, HEADER_BYTES + (count + 1) * 4 + length, file);
  const offsets = new Uint32Array(count + 1);
  new Uint8Array(offsets.buffer).set(bytes.subarray(HEADER_BYTES, HEADER_BYTES + (count + 1) * 4));
  for (let i = 0; i < count; i++) {
    if (offsets[i]! > offsets[i + 1]! || offsets[i + 1]! > length)
      throw new SegmentFormatError(file, `row ${i}: bad payload range`);
  }
  return { count, offsets, bytes: bytes.subarray(HEADER_BYTES + (count + 1) * 4) };
}
