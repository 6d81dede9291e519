import os from 'node:os';

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
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 6333,
  dataDir: './data',
  workers: os.availableParallelism(),
  logLevel: 'info',
  maxBodyMb: 32,
  queueSize: 0,
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
} as const;

export class ConfigError extends Error {}

function nonEmpty(v: string): string {
  if (v.trim() === '') throw new Error('must not be empty');
  return v;
}

function integer(v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v.trim())) throw new Error(`must be an integer from ${min} to ${max}`);
  const n = Number(v);
  if (n < min || n > max) throw new Error(`must be an integer from ${min} to ${max}`);
  return n;
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
      throw new ConfigError(`invalid ${source}=${JSON.stringify(raw)}: ${(e as Error).message}`);
    }
  }
  return out as unknown as ServerConfig;
}
