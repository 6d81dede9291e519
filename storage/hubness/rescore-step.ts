import { needsGalleryBank, type RescoreMethod, rescore, scoreToSimilarity } from '../../index-engine/hubness/index.js';
import type { Distance } from '../../index-engine/index.js';
import { StrataError } from '../errors.js';
import { pointIdKey } from '../point-id.js';
import type { Segment } from '../segment.js';
import type { SearchInput } from '../types.js';
import { candidatesFor, DEFAULT_HUBNESS, type HubnessConfig, parseMethod } from './config.js';
import type { Generation } from './generation.js';
import type { Hubness } from './state.js';

/** How one search is rescored: the method, K', and the normalizers in use when it started. */
export interface RescorePlan {
  readonly method: RescoreMethod;
  readonly candidates: number;
  readonly query: Generation;
  readonly gallery: Generation | null;
}

/**
 * The rescoring of one search: the per-search `params.rescore`, else the collection's method. A method
 * whose bank was never set is an error; a bank whose first normalizers are still being computed scores raw
 * (null), as does method none.
 */
export function planRescore(
  collectionName: string,
  config: HubnessConfig | undefined,
  hubness: Hubness | null,
  input: SearchInput,
): RescorePlan | null {
  const setting = config ?? DEFAULT_HUBNESS;
  const asked = input.params?.rescore;
  const method = asked === undefined ? setting.method : parseMethod(asked);
  if (method === 'none') return null;
  const dual = needsGalleryBank(method);
  for (const side of dual ? (['query', 'gallery'] as const) : (['query'] as const)) {
    if (!hubness?.hasBank(side)) throw new StrataError('STRATA_ERR_BANK_MISSING', [method, side, collectionName]);
  }
  const query = hubness!.live('query');
  const gallery = dual ? hubness!.live('gallery') : null;
  if (query === null || (dual && gallery === null)) return null;
  return { method, candidates: candidatesFor(setting, input.limit + (input.offset ?? 0)), query, gallery };
}

export interface Candidate {
  readonly ref: { readonly segment: Segment; readonly offset: number };
  readonly score: number;
}

/**
 * Rescores the merged candidates (best raw first) and returns them best rescored first, each with its raw
 * score; null when a candidate has no normalizer (then the search keeps raw scores).
 */
export function applyRescore<T extends Candidate>(
  plan: RescorePlan,
  distance: Distance,
  rows: readonly T[],
): { row: T; score: number; raw: number }[] | null {
  if (rows.length === 0) return [];
  const n = rows.length;
  const keys = rows.map((r) => pointIdKey(r.ref.segment.ids[r.ref.offset]!));
  const logZQ = new Float64Array(n);
  const logZG = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const zq = plan.query.norms.get(keys[i]!);
    const zg = plan.gallery === null ? 0 : plan.gallery.norms.get(keys[i]!);
    if (zq === undefined || zg === undefined) return null;
    logZQ[i] = zq;
    logZG[i] = zg;
  }
  const scores = rescore({
    method: plan.method,
    betaQ: plan.query.beta,
    betaG: plan.gallery?.beta ?? 0,
    sims: rows.map((r) => scoreToSimilarity(distance, r.score)),
    logZQ,
    logZG,
    gateQ: plan.query.isActive(keys[0]!),
    gateG: plan.gallery?.isActive(keys[0]!) ?? false,
  });
  // stable: equal rescored values keep the raw order
  return rows.map((row, i) => ({ row, score: scores[i]!, raw: row.score })).sort((a, b) => b.score - a.score);
}
