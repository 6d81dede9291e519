/**
 * Fixed-capacity top-k over typed arrays: a binary heap whose root is the worst kept entry, so a candidate
 * is compared with one value and most are rejected without touching the heap. `better(a, b)` decides order.
 * Entries are (key, value): an integer key below 2^53 (e.g. segment slot * 2^32 + row offset) and an f64 raw score.
 */
export class TopK {
  readonly capacity: number;
  private readonly keys: Float64Array;
  private readonly values: Float64Array;
  private readonly higherIsBetter: boolean;
  size = 0;

  constructor(capacity: number, higherIsBetter: boolean) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`TopK capacity must be >= 1, got ${capacity}`);
    this.capacity = capacity;
    this.keys = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.higherIsBetter = higherIsBetter;
  }

  /** True when `a` ranks strictly before `b`; ties go to the smaller key so results are deterministic. */
  private before(va: number, ka: number, vb: number, kb: number): boolean {
    if (va !== vb) return this.higherIsBetter ? va > vb : va < vb;
    return ka < kb;
  }

  /** Worst kept value, or undefined while not full: a cheap pre-check for callers. */
  threshold(): number | undefined {
    return this.size === this.capacity ? this.values[0] : undefined;
  }

  push(key: number, value: number): void {
    const keys = this.keys;
    const values = this.values;
    if (this.size < this.capacity) {
      // sift up: parent must be worse than (ranked after) child
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.before(values[p]!, keys[p]!, value, key)) break;
        keys[i] = keys[p]!;
        values[i] = values[p]!;
        i = p;
      }
      keys[i] = key;
      values[i] = value;
      return;
    }
    if (!this.before(value, key, values[0]!, keys[0]!)) return;
    // replace root, sift down
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let worst = l;
      if (r < n && this.before(values[l]!, keys[l]!, values[r]!, keys[r]!)) worst = r;
      if (!this.before(value, key, values[worst]!, keys[worst]!)) break;
      keys[i] = keys[worst]!;
      values[i] = values[worst]!;
      i = worst;
    }
    keys[i] = key;
    values[i] = value;
  }

  /** Kept entries best first. */
  sorted(): { keys: Float64Array; values: Float64Array } {
    const order = Array.from({ length: this.size }, (_, i) => i);
    order.sort((a, b) => (this.before(this.values[a]!, this.keys[a]!, this.values[b]!, this.keys[b]!) ? -1 : 1));
    const keys = new Float64Array(this.size);
    const values = new Float64Array(this.size);
    order.forEach((from, to) => {
      keys[to] = this.keys[from]!;
      values[to] = this.values[from]!;
    });
    return { keys, values };
  }
}
