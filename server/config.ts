import fs from 'node:fs';
import os from 'node:os';
import tls from 'node:tls';
import { DEFAULT_BACKLOG_RATIO, DEFAULT_WRITE_QUEUE_SIZE } from '../storage/index.js';

/** Resolved server configuration; every field comes from the environment or the same-named CLI flag. */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly workers: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly maxBodyMb: number;
  /** Search tasks that may wait for a worker; past it requests get 503 + Retry-After. 0 = 64 per worker. */
  readonly queueSize: number;
  /** Client writes that may be queued across all collections; past it writes get 503 + Retry-After. */
  readonly writeQueueSize: number;
  /**
   * Replaced or deleted rows a collection may hold in memory, as a multiple of max(live points, rows per growing
   * segment), before its upserts get 503 + Retry-After while the optimizer catches up. 0 = no relative bound.
   */
  readonly optimizerBacklogRatio: number;
  /** The same bound as an absolute number of rows per collection. 0 = none. */
  readonly optimizerBacklogRows: number;
  /** Full-access API key; when a key is set, every route but the health probes needs one. */
  readonly apiKey: string | null;
  /** API key that may only read (GET routes and the read-only POST routes: retrieve, search, query, scroll, count). */
  readonly readOnlyApiKey: string | null;
  /** PEM certificate chain and private key files; both set: the server speaks HTTPS only. */
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  /** Searches, queries, counts and scrolls running longer answer 408 and are cancelled. 0 = no limit. */
  readonly requestTimeoutMs: number;
  /** Largest snapshot archive accepted by upload or downloaded from a URL, in MiB. */
  readonly maxSnapshotMb: number;
  /** Share of live searches re-run exactly in the background to measure recall (0 = off). */
  readonly recallSampleRate: number;
  /** Share of searches whose vector goes to the query log (DBNorm `from_log` query banks), 0–1. */
  readonly queryLogSample: number;
  /** Micro-batching: concurrent single searches of one collection within this many ms run as one batch; 0 = off. */
  readonly batchWindowMs: number;
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 6333,
  dataDir: './data',
  workers: os.availableParallelism(),
  logLevel: 'info',
  maxBodyMb: 32,
  queueSize: 0,
  writeQueueSize: DEFAULT_WRITE_QUEUE_SIZE,
  optimizerBacklogRatio: DEFAULT_BACKLOG_RATIO,
  optimizerBacklogRows: 0,
  apiKey: null,
  readOnlyApiKey: null,
  tlsCert: null,
  tlsKey: null,
  requestTimeoutMs: 30_000,
  maxSnapshotMb: 16_384,
  recallSampleRate: 0.005,
  queryLogSample: 0.05,
  batchWindowMs: 0,
};

/** Each setting: its environment variable, its flag, and how to parse it (throwing a readable message). */
const SETTINGS = {
  host: { env: 'STRATA_HOST', flag: '--host', parse: (v: string) => nonEmpty(v) },
  port: { env: 'STRATA_PORT', flag: '--port', parse: (v: string) => integer(v, 0, 65535) },
  dataDir: { env: 'STRATA_DATA_DIR', flag: '--data-dir', parse: (v: string) => nonEmpty(v) },
  workers: { env: 'STRATA_WORKERS', flag: '--workers', parse: (v: string) => integer(v, 1, 256) },
  logLevel: {
    env: 'STRATA_LOG_LEVEL',
    flag: '--log-level',
    parse: (v: string) => oneOf(v, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
  },
  maxBodyMb: { env: 'STRATA_MAX_BODY_MB', flag: '--max-body-mb', parse: (v: string) => integer(v, 1, 1024) },
  queueSize: { env: 'STRATA_QUEUE_SIZE', flag: '--queue-size', parse: (v: string) => integer(v, 0, 1_000_000) },
  writeQueueSize: {
    env: 'STRATA_WRITE_QUEUE_SIZE',
    flag: '--write-queue-size',
    parse: (v: string) => integer(v, 1, 1_000_000),
  },
  optimizerBacklogRatio: {
    env: 'STRATA_OPTIMIZER_BACKLOG_RATIO',
    flag: '--optimizer-backlog-ratio',
    parse: (v: string) => decimal(v, 0, 1000),
  },
  optimizerBacklogRows: {
    env: 'STRATA_OPTIMIZER_BACKLOG_ROWS',
    flag: '--optimizer-backlog-rows',
    parse: (v: string) => integer(v, 0, 1_000_000_000),
  },
  apiKey: { env: 'STRATA_API_KEY', flag: '--api-key', parse: (v: string) => apiKey(v) },
  readOnlyApiKey: { env: 'STRATA_READ_ONLY_API_KEY', flag: '--read-only-api-key', parse: (v: string) => apiKey(v) },
  tlsCert: { env: 'STRATA_TLS_CERT', flag: '--tls-cert', parse: (v: string) => readableFile(v) },
  tlsKey: { env: 'STRATA_TLS_KEY', flag: '--tls-key', parse: (v: string) => readableFile(v) },
  requestTimeoutMs: {
    env: 'STRATA_REQUEST_TIMEOUT_MS',
    flag: '--request-timeout-ms',
    parse: (v: string) => integer(v, 0, 3_600_000),
  },
  maxSnapshotMb: {
    env: 'STRATA_MAX_SNAPSHOT_MB',
    flag: '--max-snapshot-mb',
    parse: (v: string) => integer(v, 1, 4_194_304),
  },
  recallSampleRate: {
    env: 'STRATA_RECALL_SAMPLE_RATE',
    flag: '--recall-sample-rate',
    parse: (v: string) => fraction(v),
  },
  queryLogSample: {
    env: 'STRATA_QUERY_LOG_SAMPLE',
    flag: '--query-log-sample',
    parse: (v: string) => fraction(v),
  },
  batchWindowMs: {
    env: 'STRATA_BATCH_WINDOW_MS',
    flag: '--batch-window-ms',
    parse: (v: string) => integer(v, 0, 1000),
  },
} as const;

/** Shortest accepted API key. */
export const MIN_API_KEY_LENGTH = 8;
const MAX_API_KEY_LENGTH = 512;

export class ConfigError extends Error {}

function nonEmpty(v: string): string {
  if (v.trim() === '') throw new Error('must not be empty');
  return v;
}

function fraction(v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new Error('must be a number from 0 to 1');
  return n;
}

function decimal(v: string, min: number, max: number): number {
  const n = Number(v.trim());
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || n < min || n > max) throw new Error(`must be a number from ${min} to ${max}`);
  return n;
}

function integer(v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v.trim())) throw new Error(`must be an integer from ${min} to ${max}`);
  const n = Number(v);
  if (n < min || n > max) throw new Error(`must be an integer from ${min} to ${max}`);
  return n;
}

/** Keys travel in an HTTP header, so they are visible ASCII without spaces (what every client can send as is). */
function apiKey(v: string): string {
  if (v.length < MIN_API_KEY_LENGTH || v.length > MAX_API_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(v)) {
    throw new Error(`must be ${MIN_API_KEY_LENGTH} to ${MAX_API_KEY_LENGTH} visible ASCII characters, without spaces`);
  }
  return v;
}

function readableFile(v: string): string {
  nonEmpty(v);
  try {
    fs.accessSync(v, fs.constants.R_OK);
  } catch (e) {
    throw new Error(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return v;
}

function oneOf<T extends string>(v: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(v)) throw new Error(`must be one of ${values.join(', ')}`);
  return v as T;
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  const known = new Set<string>(Object.values(SETTINGS).map((s) => s.flag));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === 'serve') continue;
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (!known.has(name)) throw new ConfigError(`unknown option ${name}; known: ${[...known].join(', ')}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

/** Flags win over the environment, which wins over defaults. `PORT` is honoured when STRATA_PORT is unset. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): ServerConfig {
  const flags = parseFlags(argv);
  const out: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const [field, setting] of Object.entries(SETTINGS)) {
    let source: string = setting.flag;
    let raw = flags.get(setting.flag);
    if (raw === undefined) {
      source = setting.env;
      raw = env[setting.env];
      if (raw === undefined && field === 'port' && env.PORT !== undefined) {
        source = 'PORT';
        raw = env.PORT;
      }
    }
    if (raw === undefined) continue;
    try {
      out[field] = setting.parse(raw);
    } catch (e) {
      // a secret is never echoed, not even when it is rejected
      const shown = field === 'apiKey' || field === 'readOnlyApiKey' ? '' : `=${JSON.stringify(raw)}`;
      throw new ConfigError(`invalid ${source}${shown}: ${(e as Error).message}`);
    }
  }
  const config = out as unknown as ServerConfig;
  checkTogether(config);
  return config;
}

/** Rules across settings: distinct keys, and a TLS certificate and key that are given together and match. */
function checkTogether(config: ServerConfig): void {
  if (config.apiKey !== null && config.apiKey === config.readOnlyApiKey) {
    throw new ConfigError('invalid STRATA_READ_ONLY_API_KEY: must differ from STRATA_API_KEY');
  }
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    throw new ConfigError('STRATA_TLS_CERT and STRATA_TLS_KEY (--tls-cert, --tls-key) must be set together');
  }
  if (config.tlsCert !== null && config.tlsKey !== null) {
    try {
      tls.createSecureContext({ cert: fs.readFileSync(config.tlsCert), key: fs.readFileSync(config.tlsKey) });
    } catch (e) {
      throw new ConfigError(
        `invalid STRATA_TLS_CERT/STRATA_TLS_KEY: not a PEM certificate and its private key (${(e as Error).message})`,
      );
    }
  }
}
