import type { Sq8Encoded, Sq8Params } from './sq8.js';
import { decodeSq8Params, encodeSq8Params } from './sq8-format.js';

/**
 * A sealed segment's whole SQ8 encoding in one buffer (file `quantized.sq8`, and the shared memory workers read):
 * 32-byte header ('SQ8B', version, rows, params bytes, inlier count, outlier count, per-vector flag), then the
 * params, the codes, and the float sections (scales, norms, outliers), each 8-byte aligned so decoding gives
 * views and never copies.
 */
const MAGIC = 0x42385153; // 'SQ8B' read as a little-endian u32
const VERSION = 1;
const HEADER = 32;

const align8 = (n: number) => (n + 7) & ~7;

function layout(paramsBytes: number, rows: number, inliers: number, outliers: number, perVector: boolean) {
  const params = HEADER;
  const codes = align8(params + paramsBytes);
  const scales = align8(codes + rows * inliers);
  const norms = align8(scales + (perVector ? rows * 4 : 0));
  const outlierValues = align8(norms + rows * 4);
  const end = outlierValues + rows * outliers * 4;
  return { params, codes, scales, norms, outlierValues, end };
}

export function encodeSq8Bundle(params: Sq8Params, encoded: Sq8Encoded, rows: number): ArrayBuffer {
  const paramBytes = new Uint8Array(encodeSq8Params(params));
  const inliers = params.inlierDims.length;
  const outliers = params.outlierDims.length;
  const perVector = params.mode === 'per-vector';
  const at = layout(paramBytes.byteLength, rows, inliers, outliers, perVector);
  const buffer = new ArrayBuffer(at.end);
  const view = new DataView(buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, rows, true);
  view.setUint32(12, paramBytes.byteLength, true);
  view.setUint32(16, inliers, true);
  view.setUint32(20, outliers, true);
  view.setUint32(24, perVector ? 1 : 0, true);
  new Uint8Array(buffer, at.params, paramBytes.byteLength).set(paramBytes);
  new Int8Array(buffer, at.codes, rows * inliers).set(encoded.codes.subarray(0, rows * inliers));
  if (perVector) new Float32Array(buffer, at.scales, rows).set(encoded.scales.subarray(0, rows));
  new Float32Array(buffer, at.norms, rows).set(encoded.norms.subarray(0, rows));
  new Float32Array(buffer, at.outlierValues, rows * outliers).set(encoded.outliers.subarray(0, rows * outliers));
  return buffer;
}

export function decodeSq8Bundle(buffer: ArrayBuffer | SharedArrayBuffer): {
  params: Sq8Params;
  encoded: Sq8Encoded;
  rows: number;
} {
  if (buffer.byteLength < HEADER) throw new RangeError(`SQ8 bundle truncated: ${buffer.byteLength} bytes, no header`);
  const view = new DataView(buffer);
  if (view.getUint32(0, true) !== MAGIC) throw new RangeError('SQ8 bundle: bad magic');
  const version = view.getUint32(4, true);
  if (version !== VERSION) throw new RangeError(`SQ8 bundle: version ${version}, this build reads ${VERSION}`);
  const rows = view.getUint32(8, true);
  const paramBytes = view.getUint32(12, true);
  const inliers = view.getUint32(16, true);
  const outliers = view.getUint32(20, true);
  const perVector = view.getUint32(24, true) === 1;
  const at = layout(paramBytes, rows, inliers, outliers, perVector);
  if (buffer.byteLength < at.end)
    throw new RangeError(`SQ8 bundle truncated: ${buffer.byteLength} bytes, expected ${at.end}`);
  const params = decodeSq8Params(new Uint8Array(buffer, at.params, paramBytes));
  if (params.inlierDims.length !== inliers || params.outlierDims.length !== outliers) {
    throw new RangeError('SQ8 bundle: header and params disagree on dimensions');
  }
  return {
    params,
    rows,
    encoded: {
      codes: new Int8Array(buffer, at.codes, rows * inliers),
      scales: perVector ? new Float32Array(buffer, at.scales, rows) : new Float32Array(0),
      norms: new Float32Array(buffer, at.norms, rows),
      outliers: new Float32Array(buffer, at.outlierValues, rows * outliers),
    },
  };
}
