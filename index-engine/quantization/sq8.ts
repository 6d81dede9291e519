/**
 * SQ8: scalar int8 quantization with float32 outlier dimensions (ALGORITHMS.md §4.1, the LLM.int8() idea applied
 * to stored embeddings). Qdrant's `quantization_config: {scalar: {type: "int8", quantile, always_ram}}`.
 *
 * A trained `Sq8Params` splits the dims into a few *outlier* dims, kept in float32, and the *inlier* dims, stored
 * as one int8 code each. Two inlier encodings:
 * - 'per-vector' (default): symmetric absmax per vector, x̂_j = scales[row] · code, scales[row] = max_{j∉O} |x_j| / 127;
 * - 'per-dim':    affine per dimension, x̂_j = dimOffsets[i] + dimScales[i] · code (Lucene/Qdrant style, with the
 *                 range of each dim clipped to the `quantile` of its values).
 * The outlier split matters for 'per-vector': one large dim would otherwise coarsen the scale of the whole row.
 *
 * Files: sq8-train.ts (params), sq8-encode.ts (codes), sq8-scorer.ts (asymmetric scoring, scan, rescore),
 * sq8-format.ts (binary params).
 */

export type Sq8Mode = 'per-dim' | 'per-vector';

/** What training learned; immutable once a segment is encoded with it. */
export interface Sq8Params {
  readonly dim: number;
  readonly mode: Sq8Mode;
  /** The quantile the per-dim ranges were clipped to (1 = full range); recorded for 'per-vector' too. */
  readonly quantile: number;
  /** Dims stored as float32, ascending. */
  readonly outlierDims: Uint32Array;
  /** The other dims, ascending: code `i` of a row quantizes dim `inlierDims[i]`. */
  readonly inlierDims: Uint32Array;
  /** 'per-dim': one per inlier dim, x̂ = dimOffsets[i] + dimScales[i] · code. Empty for 'per-vector'. */
  readonly dimOffsets: Float32Array;
  readonly dimScales: Float32Array;
}

/**
 * Encoded rows, flat and row-major (row `r`'s codes are `codes[r·inliers .. (r+1)·inliers)`). The arrays may be
 * longer than the rows written (a growing segment allocates capacity); readers look only at the rows they know.
 */
export interface Sq8Encoded {
  /** int8 codes, rows × inlierDims.length. */
  readonly codes: Int8Array;
  /** 'per-vector': one scale per row (x̂ = scale · code). Empty for 'per-dim'. */
  readonly scales: Float32Array;
  /**
   * One per row: Σ over inlier dims of (x̂_j − c_j)², where the centre c is dimOffsets ('per-dim') or 0
   * ('per-vector'). Lets squared L2 be one multiply-add per dim.
   */
  readonly norms: Float32Array;
  /** float32 values of the outlier dims, rows × outlierDims.length. */
  readonly outliers: Float32Array;
}

/** Bytes one encoded row takes (codes + outliers + norm + per-vector scale); float32 is 4 · dim. */
export function sq8BytesPerVector(params: Sq8Params): number {
  return params.inlierDims.length + 4 * params.outlierDims.length + 4 + (params.mode === 'per-vector' ? 4 : 0);
}

/** Allocates an empty encoding for `capacity` rows (plain ArrayBuffers; build views on shared memory yourself). */
export function allocSq8Encoded(params: Sq8Params, capacity: number): Sq8Encoded {
  if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`SQ8 capacity must be >= 0, got ${capacity}`);
  return {
    codes: new Int8Array(capacity * params.inlierDims.length),
    scales: new Float32Array(params.mode === 'per-vector' ? capacity : 0),
    norms: new Float32Array(capacity),
    outliers: new Float32Array(capacity * params.outlierDims.length),
  };
}

/** The complement of `outlierDims` in [0, dim), ascending. */
export function inlierDimsOf(dim: number, outlierDims: Uint32Array): Uint32Array {
  const isOutlier = new Uint8Array(dim);
  for (const j of outlierDims) isOutlier[j] = 1;
  const inliers = new Uint32Array(dim - outlierDims.length);
  let at = 0;
  for (let j = 0; j < dim; j++) if (isOutlier[j] === 0) inliers[at++] = j;
  return inliers;
}

export function checkVectors(vectors: Float32Array, dim: number, count: number, what: string): void {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`${what}: dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`${what}: count must be >= 0, got ${count}`);
  if (vectors.length < dim * count)
    throw new RangeError(`${what}: ${count} × ${dim} vectors need ${dim * count} floats, got ${vectors.length}`);
}
