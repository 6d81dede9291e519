import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
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

/** The server's message and code from an error envelope, or the raw text when the body is not one. */
function errorOf(status: number, text: string): RestError {
  let envelope: { status?: { error?: string; code?: string } } | undefined;
  try {
    envelope = parseJson(text) as typeof envelope;
  } catch {
    envelope = undefined;
  }
  const { error, code } = envelope?.status ?? {};
  return new RestError(status, code ?? `HTTP_${status}`, error ?? (text || `HTTP ${status}`));
}

/** How one attempt reaches the server: `fetch`, or `streamingRequest` for large request bodies. */
export type Transport = (url: string, init: RequestInit & { method: string; headers: Headers }) => Promise<Response>;

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

/**
 * A request whose body (a web ReadableStream) is piped to node:http with backpressure. Node's fetch keeps every
 * chunk of a streamed request body in memory until the answer comes (nodejs/undici#4058), which turns an upload
 * of a large archive into a copy of it in RAM; node:http reads the next chunk only when the socket took the last.
 */
export const streamingRequest: Transport = (url, init) => {
  const target = new URL(url);
  const request = (target.protocol === 'https:' ? https : http).request(target, {
    method: init.method,
    headers: Object.fromEntries(init.headers),
  });
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  const body = init.body as ReadableStream<Uint8Array> | null | undefined;
  if (body) {
    // a server that answers early (401, 404) may cut the upload short: its answer is what counts
    pipeline(Readable.fromWeb(body as NodeReadableStream<Uint8Array>), request).catch(() => {});
  } else request.end();
  return answered.then(
    (res) =>
      new Response(NULL_BODY_STATUS.has(res.statusCode ?? 0) ? null : (Readable.toWeb(res) as ReadableStream), {
        status: res.statusCode ?? 0,
        headers: Object.entries(res.headers).flatMap(([k, v]) =>
          v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((one): [string, string] => [k, one]),
        ),
      }),
  );
};

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
    const payload = body === undefined ? null : stringifyJson(body);
    const headers: Record<string, string> = payload === null ? {} : { 'content-type': 'application/json' };
    const response = await this.send(method, route, () => ({ headers, body: payload }));
    const text = await response.text();
    return text === '' ? (undefined as T) : (parseJson(text) as { result: T }).result;
  }

  /**
   * A 2xx response with its body unread (downloads stream it), or a RestError. `init` is asked for a fresh
   * body on every attempt, since a streamed body can be sent only once.
   */
  async send(
    method: string,
    route: string,
    init: () => RequestInit = () => ({}),
    transport: Transport = fetch,
  ): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const { headers, ...rest } = init();
      const withKey = new Headers(headers);
      if (this.options.apiKey) withKey.set('api-key', this.options.apiKey);
      let response: Response;
      try {
        response = await transport(`${this.base}${route}`, { ...rest, method, headers: withKey });
      } catch (e) {
        const reason = (e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
        if (attempt >= this.options.retries) {
          throw new RestError(0, 'CONNECTION', `cannot reach ${this.base}: ${reason}`);
        }
        await this.pause(attempt, null, `${method} ${route}: ${reason}`);
        continue;
      }
      if (response.ok) return response;
      const text = await response.text();
      if (RETRYABLE_STATUS.has(response.status) && attempt < this.options.retries) {
        await this.pause(attempt, response.headers.get('retry-after'), `${method} ${route}: ${response.status}`);
        continue;
      }
      throw errorOf(response.status, text);
    }
  }

  private async pause(attempt: number, retryAfter: string | null, what: string): Promise<void> {
    const delay = retryDelayMs(attempt, retryAfter);
    this.options.onRetry?.(`${what}; retry ${attempt + 1}/${this.options.retries} in ${(delay / 1000).toFixed(1)} s`);
    await sleep(delay);
  }
}
