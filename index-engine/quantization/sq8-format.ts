import { inlierDimsOf, type Sq8Mode, type Sq8Params } from './sq8.js';

/**
 * Binary SQ8 params, little-endian, pure (no I/O):
 *
 *   0  magic 'SSQ8'          4  u16 version (1)     6  u8 mode (0 per-dim, 1 per-vector)   7  u8 0
 *   8  u32 dim              12  u32 outlier count  16  f64 quantile
 *  24  u32 inlier count (dim − outliers)           28  u32 0
 *  32  u32 outlierDims[outliers], ascending
 *      per-dim only: f32 dimOffsets[inliers], then f32 dimScales[inliers]
 *
 * Every array starts 4-byte aligned, so decoding returns views into the buffer, not copies.
 */
export const SQ8_MAGIC = 'SSQ8';
export const SQ8_FORMAT_VERSION = 1;
const HEADER_BYTES = 32;
const MODES: readonly Sq8Mode[] = ['per-dim', 'per-vector'];
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function sq8ParamsByteLength(params: Sq8Params): number {
  const floats = params.mode === 'per-dim' ? 2 * params.inlierDims.length : 0;
  return HEADER_BYTES + 4 * params.outlierDims.length + 4 * floats;
}

export function encodeSq8Params(params: Sq8Params): ArrayBuffer {
  const { dim, outlierDims, inlierDims } = params;
  const buffer = new ArrayBuffer(sq8ParamsByteLength(params));
  const view = new DataView(buffer);
  for (let i = 0; i < 4; i++) view.setUint8(i, SQ8_MAGIC.charCodeAt(i));
  view.setUint16(4, SQ8_FORMAT_VERSION, true);
  view.setUint8(6, MODES.indexOf(params.mode));
  view.setUint32(8, dim, true);
  view.setUint32(12, outlierDims.length, true);
  view.setFloat64(16, params.quantile, true);
  view.setUint32(24, inlierDims.length, true);
  let at = HEADER_BYTES;
  for (const j of outlierDims) {
    view.setUint32(at, j, true);
    at += 4;
  }
  if (params.mode === 'per-dim') {
    for (const x of params.dimOffsets) {
      view.setFloat32(at, x, true);
      at += 4;
    }
    for (const x of params.dimScales) {
      view.setFloat32(at, x, true);
      at += 4;
    }
  }
  return buffer;
}

function fail(message: string): never {
  throw new RangeError(`SQ8 params: ${message}`);
}

/** A typed view of `length` elements at `byteOffset`, copied only when the host or the alignment forbids a view. */
function view<T extends Uint32Array | Float32Array>(
  make: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; new (length: number): T },
  data: DataView,
  byteOffset: number,
  length: number,
  read: (at: number) => number,
): T {
  const absolute = data.byteOffset + byteOffset;
  if (LITTLE_ENDIAN_HOST && absolute % 4 === 0) return new make(data.buffer, absolute, length);
  const copy = new make(length);
  for (let i = 0; i < length; i++) copy[i] = read(byteOffset + 4 * i);
  return copy;
}

/**
 * Decodes params written by `encodeSq8Params`. The returned arrays are views into `bytes` (keep it alive and
 * unmodified); only an unaligned input or a big-endian host makes copies. Bad input throws RangeError.
 */
export function decodeSq8Params(bytes: ArrayBufferLike | ArrayBufferView): Sq8Params {
  const data = ArrayBuffer.isView(bytes)
    ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new DataView(bytes);
  if (data.byteLength < HEADER_BYTES) fail(`truncated: header needs ${HEADER_BYTES} bytes, got ${data.byteLength}`);
  let magic = '';
  for (let i = 0; i < 4; i++) magic += String.fromCharCode(data.getUint8(i));
  if (magic !== SQ8_MAGIC) fail(`bad magic ${JSON.stringify(magic)}, expected ${JSON.stringify(SQ8_MAGIC)}`);
  const version = data.getUint16(4, true);
  if (version !== SQ8_FORMAT_VERSION) fail(`unsupported version ${version}, this build reads ${SQ8_FORMAT_VERSION}`);
  const mode = MODES[data.getUint8(6)];
  if (mode === undefined) fail(`unknown mode ${data.getUint8(6)}`);
  const dim = data.getUint32(8, true);
  const outlierCount = data.getUint32(12, true);
  const quantile = data.getFloat64(16, true);
  const inlierCount = data.getUint32(24, true);
  if (dim < 1 || outlierCount > dim || inlierCount !== dim - outlierCount)
    fail(`inconsistent dims: dim ${dim}, ${outlierCount} outliers, ${inlierCount} inliers`);
  if (!(quantile > 0 && quantile <= 1)) fail(`quantile ${quantile} is outside (0, 1]`);
  const floats = mode === 'per-dim' ? inlierCount : 0;
  const need = HEADER_BYTES + 4 * outlierCount + 8 * floats;
  if (data.byteLength < need) fail(`truncated: need ${need} bytes, got ${data.byteLength}`);

  const outlierDims = view(Uint32Array, data, HEADER_BYTES, outlierCount, (at) => data.getUint32(at, true));
  for (let o = 0; o < outlierCount; o++) {
    const j = outlierDims[o]!;
    if (j >= dim || (o > 0 && j <= outlierDims[o - 1]!)) fail(`outlier dims must be ascending and below ${dim}`);
  }
  const floatsAt = HEADER_BYTES + 4 * outlierCount;
  const readFloat = (at: number) => data.getFloat32(at, true);
  return {
    dim,
    mode,
    quantile,
    outlierDims,
    inlierDims: inlierDimsOf(dim, outlierDims),
    dimOffsets: view(Float32Array, data, floatsAt, floats, readFloat),
    dimScales: view(Float32Array, data, floatsAt + 4 * floats, floats, readFloat),
  };
}
