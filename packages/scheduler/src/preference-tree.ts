/**
 * The shape of a placement-preference tree for one (constraints, platforms, preferences) set,
 * built once per schedule call and shared by every group with that set: which nodes pass the
 * static filters, and which leaf (label-value path) each of them sits in. Branch 0 is the root.
 */
export interface TreeShape {
  /** Parent branch per branch; -1 for the root. */
  parent: Int32Array;
  /** Child branches per branch, in first-seen node order. */
  children: number[][];
  /** Nodes per leaf branch (undefined for inner branches). */
  leafNodes: (Int32Array | undefined)[];
  /** Leaf branch per node; -1 when a static filter rejects the node. */
  leafOfNode: Int32Array;
}

export function buildTreeShape(
  size: number,
  passesStatic: (n: number) => boolean,
  preferenceValues: readonly Int32Array[],
): TreeShape {
  const levels = preferenceValues.length;
  const parent: number[] = [-1];
  const children: number[][] = [[]];
  // Child by value id + 1 (0 = label missing) per inner branch, while building.
  const byValue: number[][] = [[]];
  const members: number[][] = [[]];
  const leafOfNode = new Int32Array(size).fill(-1);
  for (let n = 0; n < size; n++) {
    if (!passesStatic(n)) continue;
    let branch = 0;
    for (let level = 0; level < levels; level++) {
      const slot = preferenceValues[level][n] + 1;
      const known = byValue[branch];
      let child = known[slot];
      if (child === undefined) {
        child = parent.length;
        parent.push(branch);
        children.push([]);
        byValue.push([]);
        members.push([]);
        known[slot] = child;
        children[branch].push(child);
      }
      branch = child;
    }
    members[branch].push(n);
    leafOfNode[n] = branch;
  }
  const leafNodes = members.map((m, b) => (children[b].length === 0 ? Int32Array.from(m) : undefined));
  return { parent: Int32Array.from(parent), children, leafNodes, leafOfNode };
}
