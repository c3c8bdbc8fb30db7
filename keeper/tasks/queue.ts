/**
 * The task queue: a binary heap ordered by priority (higher first), then deadline (earlier first), then
 * submission order (FIFO). O(log n) push/pop; no sort.
 */
import { siftDown, siftUp } from "../heap.ts";
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
  private readonly before = (a: number, b: number): boolean => runsBefore(this.heap[a]!, this.heap[b]!);
  private readonly swap = (a: number, b: number): void => {
    const h = this.heap;
    const x = h[a]!;
    h[a] = h[b]!;
    h[b] = x;
  };

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  push(item: T): void {
    this.heap.push(item);
    siftUp(this.heap.length - 1, this.before, this.swap);
  }

  pop(): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      siftDown(0, h.length, this.before, this.swap);
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
