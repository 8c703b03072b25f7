/**
 * A linearizability checker for KV histories in the style of Porcupine: the history is split per
 * key (operations on different keys commute), and each key's history is searched with the
 * Wing–Gong algorithm plus Lowe's memoization of (linearized set, state) pairs.
 */
export interface Operation {
  client: number;
  kind: "put" | "append" | "get";
  key: string;
  /** Put/append: the value written. */
  input: string;
  /** Get: the value read. */
  output: string;
  /** Get that timed out: it stays in the history, open, and may have read anything. */
  outputUnknown?: true;
  /** Logical timestamps; `ret` is Infinity when the outcome is unknown (timeout, crash). */
  call: number;
  ret: number;
}

export interface CheckResult {
  ok: boolean;
  /** First key whose history has no linearization. */
  key?: string;
  ops?: number;
}

interface Node {
  op: Operation | undefined;
  id: number;
  isCall: boolean;
  time: number;
  match: Node | undefined; // call -> its return node
  prev: Node | undefined;
  next: Node | undefined;
}

function step(state: string, op: Operation): { ok: boolean; state: string } {
  switch (op.kind) {
    case "put":
      return { ok: true, state: op.input };
    case "append":
      return { ok: true, state: state + op.input };
    case "get":
      return { ok: op.outputUnknown === true || op.output === state, state };
  }
}

function buildList(ops: Operation[]): Node {
  const events: Node[] = [];
  ops.forEach((op, id) => {
    const call: Node = {
      op,
      id,
      isCall: true,
      time: op.call,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    const ret: Node = {
      op: undefined,
      id,
      isCall: false,
      time: op.ret,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    call.match = ret;
    events.push(call, ret);
  });
  // Calls sort before returns at equal times (overlap is the permissive reading).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.id - b.id : a.isCall ? -1 : 1));
  const head: Node = {
    op: undefined,
    id: -1,
    isCall: false,
    time: -1,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

function lift(call: Node): void {
  (call.prev as Node).next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match as Node;
  (ret.prev as Node).next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Node): void {
  const ret = call.match as Node;
  (ret.prev as Node).next = ret;
  if (ret.next) ret.next.prev = ret;
  (call.prev as Node).next = call;
  if (call.next) call.next.prev = call;
}

/** Checks one key's history; `budget` bounds the search steps (exceeding it counts as ok=false). */
export function checkKey(ops: Operation[], budget = 5_000_000): boolean {
  if (ops.length === 0) return true;
  const head = buildList(ops);
  const words = Math.ceil(ops.length / 32);
  const linearized = new Uint32Array(words);
  const cache = new Set<string>();
  const stack: { call: Node; state: string }[] = [];
  let state = "";
  let entry = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps > budget) return false;
    const e = entry as Node;
    if (e.isCall) {
      const res = step(state, e.op as Operation);
      if (res.ok) {
        linearized[e.id >>> 5] = (linearized[e.id >>> 5] as number) | (1 << (e.id & 31));
        const key = `${linearized.join(",")}|${res.state}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: e, state });
          state = res.state;
          lift(e);
          entry = head.next;
          continue;
        }
        linearized[e.id >>> 5] = (linearized[e.id >>> 5] as number) & ~(1 << (e.id & 31));
      }
      entry = e.next;
    } else {
      // A return whose call is not yet linearized: backtrack.
      const top = stack.pop();
      if (top === undefined) return false;
      state = top.state;
      linearized[top.call.id >>> 5] = (linearized[top.call.id >>> 5] as number) & ~(1 << (top.call.id & 31));
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return true;
}

export function checkHistory(ops: Operation[]): CheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    const list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, [op]);
    else list.push(op);
  }
  for (const [key, list] of byKey) {
    if (!checkKey(list)) return { ok: false, key, ops: list.length };
  }
  return { ok: true };
}
