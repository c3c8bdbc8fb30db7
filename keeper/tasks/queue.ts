/**
 * The task queue: a binary heap ordered by priority (higher first), then deadline (earlier first), then
 * submission order (FIFO). O(log n) push/pop; no sort.
 */
import type { Task } from "./types.ts";

type Ordered = Pick<Task, "priority" | "deadline" | "seq">;

/** Whether `a` runs before `b`. */
export function runsBefore(a: Ordered, b: Ordered): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.deadline !== b.deadline) return a.deadline < b.deadline;
  return a.seq < b.seq;
}

export class TaskQueue<T extends Ordered = Task> {
  private readonly heap: T[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  push(item: T): void {
    const h = this.heap;
    let i = h.length;
    h.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!runsBefore(item, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = item;
  }

  pop(): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && runsBefore(h[r]!, h[l]!) ? r : l;
        if (!runsBefore(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /** Removes and returns every item for which `pred` holds (O(n); used by sweeps, not the hot path). */
  removeWhere(pred: (item: T) => boolean): T[] {
    const keep: T[] = [];
    const removed: T[] = [];
    for (const item of this.heap) (pred(item) ? removed : keep).push(item);
    if (removed.length === 0) return removed;
    this.heap.length = 0;
    for (const item of keep) this.push(item);
    return removed;
  }
}
