/**
 * The HTTP clients the benchmarks measure Strata with, each holding one keep-alive connection and sending one
 * request at a time. Client costs are part of every figure over HTTP (the client runs on the same machine),
 * so the HNSW benchmark reports each client's figure side by side with its empty round trip.
 */
import http from 'node:http';

export interface HttpClient {
  /** Short name used in tables and JSON. */
  readonly name: string;
  /** What the client is, for the table's notes. */
  readonly label: string;
  /** Sends one request; resolves with the status and the body text. */
  call(method: string, route: string, body?: string): Promise<{ status: number; text: string }>;
  close(): void;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Node's global `fetch` (its bundled undici, keep-alive): what most Node code uses; WHATWG streams per response. */
export function fetchClient(base: string): HttpClient {
  return {
    name: 'fetch',
    label: "Node's global fetch (keep-alive)",
    async call(method, route, body) {
      const res = await fetch(`${base}${route}`, {
        method,
        ...(body === undefined ? {} : { body, headers: JSON_HEADERS }),
      });
      return { status: res.status, text: await res.text() };
    },
    close() {},
  };
}

/**
 * `node:http` with a keep-alive Agent limited to one socket: the leanest client in Node's standard library.
 * (undici's own `Client`/`Pool` 7.x is not used: before reusing an idle keep-alive socket it waits one
 * `setTimeout(0)`, at least 1 ms, to notice a server that closed it, which caps one-at-a-time requests below
 * 1,000 per second.)
 */
export function nodeHttpClient(base: string): HttpClient {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    name: 'node:http',
    label: 'node:http, keep-alive Agent, maxSockets 1',
    call(method, route, body) {
      return new Promise((resolve, reject) => {
        const headers = body === undefined ? {} : { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) };
        const req = http.request({ host: url.hostname, port: url.port, method, path: route, agent, headers }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
