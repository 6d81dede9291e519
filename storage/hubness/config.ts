import { isRescoreMethod, RESCORE_METHODS, type RescoreMethod } from '../../index-engine/hubness/index.js';
import { StrataError } from '../errors.js';

/** A collection's `hubness` setting (stored in its config). */
export interface HubnessConfig {
  readonly method: RescoreMethod;
  /** β of the query bank (β1 in ALGORITHMS.md §2). */
  readonly beta_q: number;
  /** β of the gallery bank (β2). */
  readonly beta_g: number;
  /** K': candidates rescored per search; null = max(100, 10 × (limit + offset)). */
  readonly candidates: number | null;
}

export type HubnessConfigInput = Partial<Record<keyof HubnessConfig, unknown>>;

/** Defaults for cosine similarity (ALGORITHMS.md §2(a): β1 ≈ 20, β2 ≈ 5). */
export const DEFAULT_HUBNESS: HubnessConfig = { method: 'none', beta_q: 20, beta_g: 5, candidates: null };

export const MAX_BETA = 1000;
export const MAX_CANDIDATES = 10_000;
/** Vectors per bank. */
export const MAX_BANK_SIZE = 10_000;

/** Checks an explicit rescoring method (setting or per-search `params.rescore`). */
export function parseMethod(value: unknown): RescoreMethod {
  if (!isRescoreMethod(value)) {
    throw new StrataError('STRATA_ERR_HUBNESS_CONFIG', [
      `unknown method ${JSON.stringify(value)}; use one of ${RESCORE_METHODS.join(', ')}`,
    ]);
  }
  return value;
}

function beta(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_BETA) {
    throw new StrataError('STRATA_ERR_HUBNESS_CONFIG', [`${name} must be a number in (0, ${MAX_BETA}]`]);
  }
  return value;
}

/** `base` with the given fields replaced, every field checked. */
export function mergeHubnessConfig(base: HubnessConfig, input: HubnessConfigInput): HubnessConfig {
  const candidates = input.candidates === undefined ? base.candidates : input.candidates;
  if (
    candidates !== null &&
    (typeof candidates !== 'number' || !Number.isInteger(candidates) || candidates < 1 || candidates > MAX_CANDIDATES)
  ) {
    throw new StrataError('STRATA_ERR_HUBNESS_CONFIG', [`candidates must be an integer from 1 to ${MAX_CANDIDATES}`]);
  }
  return {
    method: input.method === undefined ? base.method : parseMethod(input.method),
    beta_q: input.beta_q === undefined ? base.beta_q : beta('beta_q', input.beta_q),
    beta_g: input.beta_g === undefined ? base.beta_g : beta('beta_g', input.beta_g),
    candidates,
  };
}

/** K' for one search: the setting, else max(100, 10 × wanted); never fewer than `wanted`. */
export function candidatesFor(config: HubnessConfig, wanted: number): number {
  return Math.max(wanted, config.candidates ?? Math.max(100, 10 * wanted));
}
