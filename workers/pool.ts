import os from 'node:os';
import { Piscina } from 'piscina';
import { type Envelope, type Task, type TaskResult, WORKER_ERROR_CODES } from './protocol.js';

export interface SearchPoolOptions {
  /** Worker threads (default: one per core). */
  readonly threads?: number;
  /** Tasks that may wait for a worker before new ones are refused (default: 64 per thread). */
  readonly maxQueue?: number;
}

export const DEFAULT_SEARCH_POOL = { threads: os.availableParallelism(), maxQueuePerThread: 64 } as const;

/** A failure reported by the pool or a worker, with a code from WORKER_ERROR_CODES. */
export class PoolTaskError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'PoolTaskError';
    this.code = code;
  }
}

/**
 * The worker pool every search and scan runs on. A full queue is refused at once (the caller answers 503);
 * a worker that dies fails only its own task, and piscina starts a replacement.
 */
export class SearchPool {
  readonly threads: number;
  private readonly piscina: Piscina;
  private closing = false;

  constructor(options: SearchPoolOptions = {}) {
    this.threads = options.threads ?? DEFAULT_SEARCH_POOL.threads;
    this.piscina = new Piscina({
      filename: new URL('./search-task.js', import.meta.url).href,
      minThreads: this.threads,
      maxThreads: this.threads,
      maxQueue: options.maxQueue ?? this.threads * DEFAULT_SEARCH_POOL.maxQueuePerThread,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  async run<T extends Task>(task: T): Promise<TaskResult<T>> {
    if (this.closing) throw new PoolTaskError(WORKER_ERROR_CODES.shuttingDown, 'the pool is closing');
    let envelope: Envelope<unknown>;
    try {
      envelope = (await this.piscina.run(task)) as Envelope<unknown>;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (/queue is at limit/i.test(message)) throw new PoolTaskError(WORKER_ERROR_CODES.overloaded, message);
      throw new PoolTaskError(WORKER_ERROR_CODES.failed, message);
    }
    if (!envelope.ok) throw new PoolTaskError(envelope.error.code, envelope.error.message);
    return envelope.value as TaskResult<T>;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.piscina.close();
  }
}
