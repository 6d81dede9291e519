import type { Collection } from './collection.js';
import type { SearchOutcome } from './search.js';
import type { SearchInput } from './types.js';

/** A window closes early once it holds this many searches (one batch is one set of pool tasks). */
export const BATCH_WINDOW_MAX_SEARCHES = 256;

interface Waiting {
  readonly input: SearchInput;
  readonly resolve: (outcome: SearchOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Micro-batching (STRATA_BATCH_WINDOW_MS, opt-in): single searches that arrive on one collection within the
 * window run as one batch, so they share work the way /points/search/batch does (HQI routing by leaf, one match
 * list per distinct filter, blocked scoring). Each caller still gets its own outcome; a caller whose request was
 * cancelled while waiting leaves the window, one cancelled after it closed gets its answer dropped.
 */
export class BatchWindow {
  private readonly windowMs: number;
  private readonly run: (collection: Collection, inputs: readonly SearchInput[]) => Promise<SearchOutcome[]>;
  private readonly open = new Map<Collection, Waiting[]>();

  constructor(
    windowMs: number,
    run: (collection: Collection, inputs: readonly SearchInput[]) => Promise<SearchOutcome[]>,
  ) {
    this.windowMs = windowMs;
    this.run = run;
  }

  search(collection: Collection, input: SearchInput, signal?: AbortSignal): Promise<SearchOutcome> {
    return new Promise<SearchOutcome>((resolve, reject) => {
      let waiting = this.open.get(collection);
      if (waiting === undefined) {
        waiting = [];
        this.open.set(collection, waiting);
        setTimeout(() => this.close(collection, waiting!), this.windowMs);
      }
      const entry: Waiting = { input, resolve, reject };
      waiting.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          const at = waiting!.indexOf(entry);
          if (at >= 0) waiting!.splice(at, 1);
          reject(signal.reason);
        },
        { once: true },
      );
      if (waiting.length >= BATCH_WINDOW_MAX_SEARCHES) this.close(collection, waiting);
    });
  }

  private close(collection: Collection, waiting: Waiting[]): void {
    if (this.open.get(collection) !== waiting) return; // closed early by size
    this.open.delete(collection);
    if (waiting.length === 0) return;
    const entries = waiting.splice(0); // later aborts find nothing to remove
    const settle = (e: Waiting, run: Promise<SearchOutcome[]>) =>
      run.then(
        (outcomes) => e.resolve(outcomes[0]!),
        (error: unknown) => e.reject(error),
      );
    this.run(
      collection,
      entries.map((e) => e.input),
    ).then(
      (outcomes) => {
        for (const [i, e] of entries.entries()) e.resolve(outcomes[i]!);
      },
      // one bad search (a wrong vector size, a limit too large) fails a whole batch: each then runs alone, so only
      // it gets the error
      () => {
        for (const e of entries) settle(e, this.run(collection, [e.input]));
      },
    );
  }
}
