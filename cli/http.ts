import { setTimeout as sleep } from 'node:timers/promises';
import { parseJson, stringifyJson } from '../server/json.js';

/** Where the CLI finds the server, and how patiently it retries. */
export interface RestOptions {
  readonly url: string;
  readonly apiKey?: string | undefined;
  /** Attempts after the first one, for 503/429 answers and refused or reset connections. */
  readonly retries: number;
  /** Told about every retry (the import command prints it above its progress bar). */
  readonly onRetry?: ((message: string) => void) | undefined;
}

/** An answer the CLI cannot recover from: the server's message and STRATA_ERR_* code, or the transport error. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RestError';
  }
}

const RETRYABLE_STATUS = new Set([429, 503]);
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

/** Exponential backoff with full jitter, never shorter than what the server asked for in Retry-After. */
export function retryDelayMs(attempt: number, retryAfter: string | null): number {
  const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** attempt);
  const jittered = backoff / 2 + Math.random() * (backoff / 2);
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
  const asked = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 0;
  return Math.max(asked, jittered);
}

/**
 * A JSON client for Strata's REST API. Bodies keep 64-bit ids exact both ways (the server's own JSON helpers),
 * and every request is retried on overload, since upserts, scrolls and existence checks are all idempotent.
 */
export class RestClient {
  private readonly base: string;

  constructor(private readonly options: RestOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  /** The `result` of the envelope, or a RestError. */
  async call<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.options.apiKey) headers['api-key'] = this.options.apiKey;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const payload = body === undefined ? undefined : stringifyJson(body);
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${this.base}${route}`, { method, headers, body: payload ?? null });
      } catch (e) {
        const reason = (e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
        if (attempt >= this.options.retries) {
          throw new RestError(0, 'CONNECTION', `cannot reach ${this.base}: ${reason}`);
        }
        await this.pause(attempt, null, `${method} ${route}: ${reason}`);
        continue;
      }
      const text = await response.text();
      if (RETRYABLE_STATUS.has(response.status) && attempt < this.options.retries) {
        await this.pause(attempt, response.headers.get('retry-after'), `${method} ${route}: ${response.status}`);
        continue;
      }
      const parsed = text === '' ? undefined : (parseJson(text) as Record<string, unknown>);
      if (!response.ok) {
        const status = (parsed?.status ?? {}) as { error?: string; code?: string };
        throw new RestError(response.status, status.code ?? `HTTP_${response.status}`, status.error ?? text);
      }
      return (parsed as { result: T }).result;
    }
  }

  private async pause(attempt: number, retryAfter: string | null, what: string): Promise<void> {
    const delay = retryDelayMs(attempt, retryAfter);
    this.options.onRetry?.(`${what}; retry ${attempt + 1}/${this.options.retries} in ${(delay / 1000).toFixed(1)} s`);
    await sleep(delay);
  }
}
