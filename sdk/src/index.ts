/**
 * @strata/sdk: a typed client for the Strata REST API. The route types (`paths`) are generated from
 * openapi/openapi.json (`npm run sdk`); requests go through openapi-fetch, so paths, path parameters, bodies and
 * responses are all checked by the compiler.
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };
export type StrataClient = Client<paths>;

export interface StrataClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Sent as the `api-key` header (servers started with STRATA_API_KEY or STRATA_READ_ONLY_API_KEY need it). */
  apiKey?: string | undefined;
}

/** A client for the server at `baseUrl`, e.g. `http://localhost:6333`. */
export function createStrataClient(baseUrl: string, options: StrataClientOptions = {}): StrataClient {
  const { apiKey, headers, ...rest } = options;
  return createClient<paths>({
    ...rest,
    baseUrl,
    headers: { ...(apiKey === undefined ? {} : { 'api-key': apiKey }), ...(headers as Record<string, string>) },
  });
}

/** The error body every failed request answers with: a message and a stable `STRATA_ERR_*` code. */
export type StrataErrorBody = components['schemas']['ErrorResponse'];

/** Thrown by `unwrap` when the server answered with an error. */
export class StrataApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StrataApiError';
  }
}

/**
 * The `result` of a successful call, or a StrataApiError: `const info = unwrap(await client.GET(...))`.
 * Useful where a caller wants exceptions rather than openapi-fetch's `{ data, error }` pair.
 */
export function unwrap<T extends { result: unknown }>(answer: {
  data?: T;
  error?: unknown;
  response: Response;
}): T['result'] {
  if (answer.data !== undefined) return answer.data.result;
  const body = answer.error as Partial<StrataErrorBody> | undefined;
  throw new StrataApiError(
    answer.response.status,
    body?.status?.code ?? 'UNKNOWN',
    body?.status?.error ?? `HTTP ${answer.response.status}`,
  );
}
