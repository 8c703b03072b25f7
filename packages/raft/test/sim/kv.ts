/**
 * The simulator's replicated state machine: a string KV store with put/append, plus a per-client
 * session table so a proposal delivered twice (network duplication, forwarding) applies once.
 */
export type OpKind = "put" | "append" | "get";

export interface Command {
  client: number;
  op: number;
  kind: "put" | "append";
  key: string;
  value: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(c: Command): Uint8Array {
  return encoder.encode(`${c.client}|${c.op}|${c.kind}|${c.key}|${c.value}`);
}

export function decodeCommand(data: Uint8Array): Command {
  const [client, op, kind, key, value] = decoder.decode(data).split("|");
  return {
    client: Number(client),
    op: Number(op),
    kind: kind as "put" | "append",
    key: key ?? "",
    value: value ?? "",
  };
}

export class KvStateMachine {
  data = new Map<string, string>();
  /** Last op applied per client (ops of one client are issued in increasing order). */
  sessions = new Map<number, number>();

  /** Applies a command; returns false when it was a duplicate or an older op and was skipped. */
  apply(c: Command): boolean {
    const last = this.sessions.get(c.client) ?? 0;
    if (c.op <= last) return false;
    this.sessions.set(c.client, c.op);
    if (c.kind === "put") this.data.set(c.key, c.value);
    else this.data.set(c.key, (this.data.get(c.key) ?? "") + c.value);
    return true;
  }

  get(key: string): string {
    return this.data.get(key) ?? "";
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify({ d: [...this.data], s: [...this.sessions] }));
  }

  static restore(data: Uint8Array): KvStateMachine {
    const sm = new KvStateMachine();
    if (data.byteLength === 0) return sm;
    const parsed = JSON.parse(decoder.decode(data)) as { d: [string, string][]; s: [number, number][] };
    sm.data = new Map(parsed.d);
    sm.sessions = new Map(parsed.s);
    return sm;
  }
}
