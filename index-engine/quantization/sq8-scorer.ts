import { type Distance, METRICS } from '../metric.js';
import type { Scorer } from '../scorer.js';
import { TopK } from '../top-k.js';
import type { Sq8Encoded, Sq8Params } from './sq8.js';

/** Candidates fetched per wanted result before rescoring with float32 vectors (§4.1: K' = 4k for int8). */
export const DEFAULT_OVERSAMPLING = 4;

/** How many quantized candidates to fetch for `k` results: ceil(k · oversampling), at least k. */
export function oversampledK(k: number, oversampling: number = DEFAULT_OVERSAMPLING): number {
  if (!(oversampling >= 1)) throw new RangeError(`oversampling must be >= 1, got ${oversampling}`);
  return Math.max(k, Math.ceil(k * oversampling));
}

const DOT = 0;
const L2 = 1;
const L1 = 2;

/** Σ w_i · codes[at + i]: the one multiply-add per dimension every kernel reduces to. */
function dotCodes(w: Float64Array, codes: Int8Array, at: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += w[i]! * codes[at + i]!;
    s1 += w[i + 1]! * codes[at + i + 1]!;
    s2 += w[i + 2]! * codes[at + i + 2]!;
    s3 += w[i + 3]! * codes[at + i + 3]!;
  }
  for (; i < n; i++) s0 += w[i]! * codes[at + i]!;
  return s0 + s1 + s2 + s3;
}

/** Σ |u_i − v_i · codes[at + i]| · (per-vector: v ≡ rowScale, per-dim: v = dim scales and rowScale = 1). */
function l1Codes(u: Float64Array, v: Float64Array | null, rowScale: number, codes: Int8Array, at: number, n: number) {
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  if (v === null) {
    for (; i + 1 < n; i += 2) {
      s0 += Math.abs(u[i]! - rowScale * codes[at + i]!);
      s1 += Math.abs(u[i + 1]! - rowScale * codes[at + i + 1]!);
    }
    for (; i < n; i++) s0 += Math.abs(u[i]! - rowScale * codes[at + i]!);
  } else {
    for (; i + 1 < n; i += 2) {
      s0 += Math.abs(u[i]! - v[i]! * codes[at + i]!);
      s1 += Math.abs(u[i + 1]! - v[i + 1]! * codes[at + i + 1]!);
    }
    for (; i < n; i++) s0 += Math.abs(u[i]! - v[i]! * codes[at + i]!);
  }
  return s0 + s1;
}

/**
 * A query bound to SQ8 codes; one class for every mode and metric so call sites stay monomorphic. With x̂ the
 * dequantized row and c its centre (dimOffsets per-dim, 0 per-vector), everything query-only is precomputed:
 * - dot: ⟨q, x̂⟩ = ⟨q, c⟩ + s_row · Σ w_i code_i, w_i = q_i · scale_i
 * - L2:  ‖q − x̂‖² = ‖q − c‖² − 2 s_row Σ w_i code_i + norms[row], w_i = (q_i − c_i) · scale_i
 * - L1:  Σ |(q_i − c_i) − s_row · scale_i · code_i|
 * where s_row is the row's scale (per-vector) or 1 (per-dim), plus the exact term over the float outlier dims.
 */
class Sq8QueryScorer implements Scorer {
  readonly higherIsBetter: boolean;
  private readonly kernel: number;
  private readonly base: number;
  private readonly w: Float64Array;
  private readonly dimScales: Float64Array | null;
  private readonly qOut: Float64Array;
  private readonly nIn: number;
  private readonly nOut: number;
  private readonly codes: Int8Array;
  private readonly rowScales: Float32Array | null;
  private readonly norms: Float32Array;
  private readonly outliers: Float32Array;

  constructor(params: Sq8Params, encoded: Sq8Encoded, query: Float32Array, distance: Distance) {
    if (query.length !== params.dim)
      throw new RangeError(`query has ${query.length} dimensions, SQ8 params have ${params.dim}`);
    const { inlierDims, outlierDims, dimOffsets, dimScales } = params;
    const perDim = params.mode === 'per-dim';
    this.higherIsBetter = METRICS[distance].higherIsBetter;
    this.kernel = distance === 'Euclid' ? L2 : distance === 'Manhattan' ? L1 : DOT;
    this.nIn = inlierDims.length;
    this.nOut = outlierDims.length;
    this.codes = encoded.codes;
    this.rowScales = perDim ? null : encoded.scales;
    this.norms = encoded.norms;
    this.outliers = encoded.outliers;
    this.qOut = Float64Array.from(outlierDims, (j) => query[j]!);
    this.dimScales = perDim && this.kernel === L1 ? Float64Array.from(dimScales) : null;

    const w = new Float64Array(this.nIn);
    let base = 0;
    for (let i = 0; i < this.nIn; i++) {
      const q = query[inlierDims[i]!]!;
      const centre = perDim ? dimOffsets[i]! : 0;
      const scale = perDim ? dimScales[i]! : 1;
      if (this.kernel === DOT) {
        w[i] = q * scale;
        base += q * centre;
      } else if (this.kernel === L2) {
        w[i] = (q - centre) * scale;
        base += (q - centre) * (q - centre);
      } else {
        w[i] = q - centre;
      }
    }
    this.w = w;
    this.base = base;
  }

  score(offset: number): number {
    const nIn = this.nIn;
    const nOut = this.nOut;
    const rowScale = this.rowScales === null ? 1 : this.rowScales[offset]!;
    const outliers = this.outliers;
    const qOut = this.qOut;
    const at = offset * nOut;
    let s: number;
    if (this.kernel === DOT) {
      s = this.base + rowScale * dotCodes(this.w, this.codes, offset * nIn, nIn);
      for (let o = 0; o < nOut; o++) s += qOut[o]! * outliers[at + o]!;
    } else if (this.kernel === L2) {
      s = this.base - 2 * rowScale * dotCodes(this.w, this.codes, offset * nIn, nIn) + this.norms[offset]!;
      for (let o = 0; o < nOut; o++) {
        const d = qOut[o]! - outliers[at + o]!;
        s += d * d;
      }
    } else {
      s = l1Codes(this.w, this.dimScales, rowScale, this.codes, offset * nIn, nIn);
      for (let o = 0; o < nOut; o++) s += Math.abs(qOut[o]! - outliers[at + o]!);
    }
    return s;
  }
}

/**
 * Scores SQ8 rows against a float query, asymmetrically (the query is never quantized). `score(offset)` is the
 * approximate raw kernel value of METRICS[distance]: dot for Dot and Cosine (pass normalized vectors and query
 * for Cosine), squared L2 for Euclid, L1 for Manhattan.
 */
export function createSq8Scorer(
  params: Sq8Params,
  encoded: Sq8Encoded,
  query: Float32Array,
  distance: Distance,
): Scorer {
  return new Sq8QueryScorer(params, encoded, query, distance);
}

/**
 * The flat quantized scan: pushes every row in [0, count) that `accept` keeps (tombstones, filters) into `top`,
 * keyed `keyBase + offset` (e.g. slot · 2^32 for several segments into one heap).
 */
export function scanSq8(
  scorer: Scorer,
  count: number,
  top: TopK,
  accept: ((offset: number) => boolean) | null = null,
  keyBase = 0,
): void {
  for (let offset = 0; offset < count; offset++) {
    if (accept !== null && !accept(offset)) continue;
    top.push(keyBase + offset, scorer.score(offset));
  }
}

/** Offsets and raw scores, best first. */
export interface ScoredOffsets {
  readonly offsets: Uint32Array;
  readonly scores: Float64Array;
}

function toScored(top: TopK): ScoredOffsets {
  const { keys, values } = top.sorted();
  return { offsets: Uint32Array.from(keys), scores: values };
}

/** The best `k` of the rows in [0, count) that `accept` keeps, by approximate (quantized) raw score. */
export function topKSq8(
  scorer: Scorer,
  count: number,
  k: number,
  accept: ((offset: number) => boolean) | null = null,
): ScoredOffsets {
  const top = new TopK(k, scorer.higherIsBetter);
  scanSq8(scorer, count, top, accept);
  return toScored(top);
}

/**
 * Rescoring: the exact raw scores of `candidates` (row offsets into row-major float32 `vectors`), best `k` first.
 * Fetch `oversampledK(k)` candidates from the quantized scan or graph, then call this.
 */
export function rescoreExact(
  candidates: ArrayLike<number>,
  vectors: Float32Array,
  dim: number,
  query: Float32Array,
  distance: Distance,
  k: number,
): ScoredOffsets {
  if (query.length !== dim) throw new RangeError(`query has ${query.length} dimensions, vectors have ${dim}`);
  const metric = METRICS[distance];
  const top = new TopK(k, metric.higherIsBetter);
  for (let i = 0; i < candidates.length; i++) {
    const offset = candidates[i]!;
    top.push(offset, metric.raw(query, 0, vectors, offset * dim, dim));
  }
  return toScored(top);
}
