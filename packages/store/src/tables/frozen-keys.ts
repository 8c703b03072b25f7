// Index keys derived from a frozen object (an interned task spec, a task's shared service labels)
// are the same every time: compute them once per object. 100,000 tasks of 100 services then share
// 100 key arrays per index instead of allocating 100,000 (restore, apply, overlays).

/** Wraps `keysOf` so a frozen argument's keys are computed once; the result must not be mutated. */
export function keysCachedWhenFrozen<O extends object>(
  keysOf: (o: O | undefined) => readonly string[],
): (o: O | undefined) => readonly string[] {
  const cache = new WeakMap<O, readonly string[]>();
  return (o) => {
    if (o === undefined || !Object.isFrozen(o)) return keysOf(o);
    let keys = cache.get(o);
    if (keys === undefined) {
      keys = Object.freeze(keysOf(o));
      cache.set(o, keys);
    }
    return keys;
  };
}
