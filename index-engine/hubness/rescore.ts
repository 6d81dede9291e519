/** Hubness-aware rescoring methods (ALGORITHMS.md §2(a)), in their rank-equivalent log forms. */
export const RESCORE_METHODS = ['none', 'is', 'dis', 'dual_is', 'dual_dis'] as const;
export type RescoreMethod = (typeof RESCORE_METHODS)[number];

export function isRescoreMethod(value: unknown): value is RescoreMethod {
  return typeof value === 'string' && (RESCORE_METHODS as readonly string[]).includes(value);
}

/** Whether the method divides by the query-bank normalizer (every method but none). */
export function needsQueryBank(method: RescoreMethod): boolean {
  return method !== 'none';
}

/** Whether the method divides by the gallery-bank normalizer too (the dual DBNorm methods). */
export function needsGalleryBank(method: RescoreMethod): boolean {
  return method === 'dual_is' || method === 'dual_dis';
}

export interface RescoreInput {
  readonly method: RescoreMethod;
  readonly betaQ: number;
  readonly betaG: number;
  /** Raw similarities of the candidates (higher is better). */
  readonly sims: ArrayLike<number>;
  /** Per candidate logZ_Q(g; βQ) and logZ_G(g; βG) (ignored where the method does not use them). */
  readonly logZQ: ArrayLike<number>;
  readonly logZG: ArrayLike<number>;
  /**
   * The dynamic gates of dis and dual_dis: whether the query's raw top-1 is in the query bank's (gateQ) and
   * the gallery bank's (gateG) activation set. is and dual_is ignore them.
   */
  readonly gateQ: boolean;
  readonly gateG: boolean;
}

/**
 * The rescored value of each candidate. is: βQ·s − logZ_Q; dis: is when gateQ, else βQ·s; dual_is:
 * (βQ+βG)·s − logZ_Q − logZ_G; dual_dis: (βQ+βG)·s − gateQ·logZ_Q − gateG·logZ_G. An ungated term keeps the
 * raw ranking (it only scales s), so a query no gate fires for is ranked as without rescoring.
 */
export function rescore(input: RescoreInput): Float64Array {
  const { method, betaQ, betaG, sims, logZQ, logZG } = input;
  const n = sims.length;
  const out = new Float64Array(n);
  const dual = method === 'dual_is' || method === 'dual_dis';
  const beta = method === 'none' ? 1 : dual ? betaQ + betaG : betaQ;
  const useQ = method === 'is' || method === 'dual_is' || ((method === 'dis' || method === 'dual_dis') && input.gateQ);
  const useG = method === 'dual_is' || (method === 'dual_dis' && input.gateG);
  for (let i = 0; i < n; i++) {
    let v = beta * sims[i]!;
    if (useQ) v -= logZQ[i]!;
    if (useG) v -= logZG[i]!;
    out[i] = v;
  }
  return out;
}
