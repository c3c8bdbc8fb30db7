/**
 * The binary-heap moves, over slot indices, shared by every heap in the keeper (the task queue, routing's
 * top-k candidates). The caller owns the storage: `before(a, b)` says whether slot a belongs above slot b, and
 * `swap(a, b)` exchanges two slots — so a heap can keep its items in one array or in parallel typed arrays.
 */

/** Moves slot `i` up while it belongs above its parent; returns where it ended. */
export function siftUp(
  i: number,
  before: (a: number, b: number) => boolean,
  swap: (a: number, b: number) => void,
): number {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(i, parent)) break;
    swap(i, parent);
    i = parent;
  }
  return i;
}

/** Moves slot `i` down (within the first `count` slots) while a child belongs above it; returns where it ended. */
export function siftDown(
  i: number,
  count: number,
  before: (a: number, b: number) => boolean,
  swap: (a: number, b: number) => void,
): number {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < count && before(l, m)) m = l;
    if (r < count && before(r, m)) m = r;
    if (m === i) return i;
    swap(i, m);
    i = m;
  }
}
