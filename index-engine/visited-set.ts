/**
 * A reusable visited set over row offsets (Qdrant's visited_pool): one byte per row holds the generation that last
 * marked it, so `clear()` is a counter bump. The marks are zeroed only when the generation wraps past 255.
 */
export class VisitedSet {
  private marks: Uint8Array;
  private current = 1;

  constructor(capacity = 0) {
    this.marks = new Uint8Array(capacity);
  }

  get capacity(): number {
    return this.marks.length;
  }

  /** The generation in use (1..255); exposed for tests of the wrap-around. */
  get generation(): number {
    return this.current;
  }

  /** Makes room for offsets below `n`. Growing drops every mark. */
  ensureCapacity(n: number): void {
    if (n <= this.marks.length) return;
    this.marks = new Uint8Array(Math.max(n, Math.ceil(this.marks.length * 1.5)));
    this.current = 1;
  }

  /** Forgets every mark: O(1), except one full reset every 255 calls. */
  clear(): void {
    if (this.current === 255) {
      this.marks.fill(0);
      this.current = 1;
    } else {
      this.current++;
    }
  }

  has(offset: number): boolean {
    return this.marks[offset] === this.current;
  }

  add(offset: number): void {
    this.marks[offset] = this.current;
  }

  /** Marks `offset`; true when it was not marked yet (test-and-set). */
  visit(offset: number): boolean {
    const marks = this.marks;
    if (marks[offset] === this.current) return false;
    marks[offset] = this.current;
    return true;
  }
}
