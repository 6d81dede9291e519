import { allocSq8Encoded, checkVectors, type Sq8Encoded, type Sq8Params } from './sq8.js';

/**
 * Encodes one vector (`dim` floats at `vectors[vectorOffset]`) into row `row` of `encoded`, in place: the unit a
 * growing segment appends with. `encoded` may be views over SharedArrayBuffers sized for its capacity.
 */
export function encodeSq8Row(
  params: Sq8Params,
  vectors: Float32Array,
  vectorOffset: number,
  encoded: Sq8Encoded,
  row: number,
): void {
  const { inlierDims, outlierDims, dimOffsets, dimScales } = params;
  const nIn = inlierDims.length;
  const nOut = outlierDims.length;
  const { codes, scales, norms, outliers } = encoded;
  const codeBase = row * nIn;
  if (codeBase + nIn > codes.length || row >= norms.length)
    throw new RangeError(`SQ8 row ${row} is past the encoding's capacity`);

  for (let o = 0; o < nOut; o++) outliers[row * nOut + o] = vectors[vectorOffset + outlierDims[o]!]!;

  let norm = 0;
  if (params.mode === 'per-dim') {
    for (let i = 0; i < nIn; i++) {
      const scale = dimScales[i]!;
      const x = vectors[vectorOffset + inlierDims[i]!]!;
      const q = scale > 0 ? Math.round((x - dimOffsets[i]!) / scale) : 0;
      const code = Math.max(-128, Math.min(127, q));
      codes[codeBase + i] = code;
      const centred = scale * code;
      norm += centred * centred;
    }
  } else {
    let absMax = 0;
    for (let i = 0; i < nIn; i++) {
      const a = Math.abs(vectors[vectorOffset + inlierDims[i]!]!);
      if (a > absMax) absMax = a;
    }
    const scale = Math.fround(absMax / 127);
    scales[row] = scale;
    let sumSquares = 0;
    for (let i = 0; i < nIn; i++) {
      const q = scale > 0 ? Math.round(vectors[vectorOffset + inlierDims[i]!]! / scale) : 0;
      const code = Math.max(-127, Math.min(127, q));
      codes[codeBase + i] = code;
      sumSquares += code * code;
    }
    norm = scale * scale * sumSquares;
  }
  norms[row] = norm;
}

/** Encodes `count` row-major vectors into fresh flat arrays. */
export function encodeSq8(params: Sq8Params, vectors: Float32Array, dim: number, count: number): Sq8Encoded {
  checkVectors(vectors, dim, count, 'encodeSq8');
  if (dim !== params.dim) throw new RangeError(`encodeSq8: vectors have ${dim} dimensions, params ${params.dim}`);
  const encoded = allocSq8Encoded(params, count);
  for (let row = 0; row < count; row++) encodeSq8Row(params, vectors, row * dim, encoded, row);
  return encoded;
}

/** Dequantizes row `row` into `out` (length dim): outlier dims exact, inlier dims from their codes. */
export function decodeSq8Row(params: Sq8Params, encoded: Sq8Encoded, row: number, out: Float32Array): Float32Array {
  const { inlierDims, outlierDims, dimOffsets, dimScales } = params;
  const nIn = inlierDims.length;
  const nOut = outlierDims.length;
  for (let o = 0; o < nOut; o++) out[outlierDims[o]!] = encoded.outliers[row * nOut + o]!;
  if (params.mode === 'per-dim') {
    for (let i = 0; i < nIn; i++) out[inlierDims[i]!] = dimOffsets[i]! + dimScales[i]! * encoded.codes[row * nIn + i]!;
  } else {
    const scale = encoded.scales[row]!;
    for (let i = 0; i < nIn; i++) out[inlierDims[i]!] = scale * encoded.codes[row * nIn + i]!;
  }
  return out;
}
