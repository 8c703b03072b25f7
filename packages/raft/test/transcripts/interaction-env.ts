import { createLogger, type Logger, seededRandom } from "@shoal/base";
import type { TranscriptArgs, TranscriptHandler } from "@shoal/testkit/transcript";
import {
  type ConfChangeType,
  decodeConfChange,
  type Entry,
  MemoryStorage,
  type Message,
  type ProposeResult,
  RawNode,
  type Ready,
} from "../../src/index.js";

// The raft driver for transcripts (in the spirit of etcd's rafttest interaction env): RawNodes on
// MemoryStorage, messages queued per recipient until a command delivers them, every Ready printed
// as it is handled. Nothing happens unless a command says so, so a transcript is exact.

type LogLevel = "none" | "info" | "debug";
const LEVELS: Record<LogLevel, number> = { none: 100, info: 30, debug: 20 };
const LEVEL_NAMES: Record<number, string> = { 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR" };

interface EnvNode {
  id: number;
  core: RawNode;
  storage: MemoryStorage;
  /** The state machine: the data of every applied normal entry, in order. */
  applied: string[];
  electionTicks: number;
  heartbeatTicks: number;
}

const text = (b: Uint8Array) => JSON.stringify(new TextDecoder().decode(b));
const bytes = (s: string) => new TextEncoder().encode(s);

function formatEntry(e: Entry): string {
  if (e.type === "confChange") {
    const cc = decodeConfChange(e.data);
    return `${e.term}/${e.index} confChange ${cc.type} ${cc.nodeId}`;
  }
  return `${e.term}/${e.index} normal ${text(e.data)}`;
}

function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case "app":
      return `${head} index=${m.index} logTerm=${m.logTerm} commit=${m.commit}${
        m.entries.length > 0 ? ` entries=[${m.entries.map(formatEntry).join(", ")}]` : ""
      }`;
    case "appResp":
      return m.reject
        ? `${head} index=${m.index} reject rejectHint=${m.rejectHint} logTerm=${m.logTerm}`
        : `${head} index=${m.index}`;
    case "vote":
    case "preVote":
      return `${head} index=${m.index} logTerm=${m.logTerm}${m.transfer ? " transfer" : ""}`;
    case "voteResp":
    case "preVoteResp":
      return `${head}${m.reject ? " reject" : ""}`;
    case "snap":
      return `${head} snapshot=${m.meta.term}/${m.meta.index} voters=(${m.meta.confState.voters.join(",")}) offset=${m.offset} bytes=${m.data.byteLength}/${m.totalBytes}${m.done ? " done" : ""}`;
    case "heartbeat":
      return `${head} commit=${m.commit}${m.context.byteLength > 0 ? ` context=${text(m.context)}` : ""}`;
    case "heartbeatResp":
      return `${head}${m.context.byteLength > 0 ? ` context=${text(m.context)}` : ""}`;
    case "readIndex":
      return `${head} context=${text(m.context)}`;
    case "readIndexResp":
      return `${head} index=${m.index} context=${text(m.context)}`;
    case "prop":
      return `${head} entries=[${m.entries.map(formatEntry).join(", ")}]`;
    case "transferLeader":
    case "timeoutNow":
      return head;
  }
}

function formatResult(r: ProposeResult): string {
  if (!r.ok) return `rejected ${r.reason} leader=${r.leader}`;
  return r.forwarded ? `forwarded to ${r.leader}` : `appended ${r.term}/${r.index}`;
}

export class InteractionEnv {
  private readonly nodes = new Map<number, EnvNode>();
  /** Messages sent and not yet delivered, by recipient. */
  private readonly queues = new Map<number, Message[]>();
  /** Nodes cut off from every other node: messages to or from them are dropped on delivery. */
  private readonly partitioned = new Set<number>();
  private out: string[] = [];
  private level: LogLevel = "info";
  private readonly logger: Logger;

  constructor() {
    this.logger = createLogger({
      level: "debug",
      destination: { write: (line: string) => this.logLine(line) },
    });
  }

  /** The commands a transcript can use. */
  commands(): Record<string, TranscriptHandler> {
    const run = (f: (args: TranscriptArgs) => void) => (cmd: { args: TranscriptArgs }) => {
      this.out = [];
      f(cmd.args);
      return this.out;
    };
    return {
      "add-nodes": run((a) => this.addNodes(a)),
      campaign: run((a) => this.node(a.atInt(0, "node id")).core.campaign()),
      propose: run((a) => {
        const n = this.node(a.atInt(0, "node id"));
        this.out.push(formatResult(n.core.propose(bytes(a.at(1, "data")))));
      }),
      "propose-conf-change": run((a) => {
        const n = this.node(a.atInt(0, "node id"));
        const type = a.at(1, "type (addVoter, addLearner, removeNode)") as ConfChangeType;
        this.out.push(formatResult(n.core.proposeConfChange({ type, nodeId: a.atInt(2, "member id") })));
      }),
      "read-index": run((a) => this.node(a.atInt(0, "node id")).core.readIndex(bytes(a.at(1, "context")))),
      "transfer-leadership": run((a) => this.node(a.int("from")).core.transferLeadership(a.int("to"))),
      "tick-heartbeat": run((a) => this.tick(a, (n) => n.heartbeatTicks)),
      "tick-election": run((a) => this.tick(a, (n) => n.electionTicks)),
      "process-ready": run((a) => {
        for (const id of this.ids(a)) this.processReady(this.node(id));
      }),
      "deliver-msgs": run((a) => {
        for (const id of this.ids(a)) this.deliver(id);
      }),
      stabilize: run((a) => this.stabilize(this.ids(a))),
      partition: run((a) => {
        for (const id of a.positionalInts("node id")) this.partitioned.add(id);
      }),
      heal: run(() => this.partitioned.clear()),
      compact: run((a) => this.compact(this.node(a.atInt(0, "node id")), a.atInt(1, "index"))),
      status: run((a) => {
        for (const id of this.ids(a)) this.status(this.node(id));
      }),
      "raft-log": run((a) => {
        const n = this.node(a.atInt(0, "node id"));
        const first = n.storage.firstIndex();
        const entries = n.storage.entries(first, n.storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
        if (first > 1) this.out.push(`snapshot ${n.storage.snapshot().meta.term}/${first - 1}`);
        for (const e of entries) this.out.push(formatEntry(e));
        if (entries.length === 0 && first === 1) this.out.push("log is empty");
      }),
      "state-machine": run((a) => {
        for (const id of this.ids(a))
          this.out.push(
            `${id}: [${this.node(id)
              .applied.map((d) => JSON.stringify(d))
              .join(", ")}]`,
          );
      }),
      "log-level": run((a) => {
        const level = a.at(0, "level (none, info, debug)");
        if (!(level in LEVELS)) throw a.error(`log level "${level}" is not one of none, info, debug`);
        this.level = level as LogLevel;
      }),
    };
  }

  private addNodes(a: TranscriptArgs): void {
    const count = a.atInt(0, "node count");
    const first = this.nodes.size + 1;
    const ids = Array.from({ length: count }, (_, i) => first + i);
    const voters = a.ints("voters", ids);
    const electionTicks = a.int("election", 10);
    const heartbeatTicks = a.int("heartbeat", 1);
    for (const id of ids) {
      const storage = MemoryStorage.bootstrap(voters);
      const core = new RawNode({
        id,
        storage,
        electionTicks,
        heartbeatTicks,
        random: seededRandom(id),
        logger: this.logger.child({ raftId: id }),
        preVote: a.bool("prevote", true),
        checkQuorum: a.bool("checkquorum", true),
      });
      const n: EnvNode = { id, core, storage, applied: [], electionTicks, heartbeatTicks };
      this.nodes.set(id, n);
      // The bootstrap configuration entries are committed; apply them quietly.
      const rd = core.ready();
      this.persist(n, rd);
      core.advance(rd);
      this.status(n);
    }
  }

  private tick(a: TranscriptArgs, ticks: (n: EnvNode) => number): void {
    const n = this.node(a.atInt(0, "node id"));
    for (let i = ticks(n); i > 0; i--) n.core.tick();
  }

  private ids(a: TranscriptArgs): number[] {
    const ids = a.positionalInts("node id");
    return ids.length > 0 ? ids : [...this.nodes.keys()].sort((x, y) => x - y);
  }

  private node(id: number): EnvNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`node ${id} does not exist (add-nodes first)`);
    return n;
  }

  /** Handles one Ready the way a driver must: persist, send, apply, advance. Returns whether there was one. */
  private processReady(n: EnvNode): boolean {
    if (!n.core.hasReady()) return false;
    this.out.push(`> ${n.id} handling Ready`);
    const rd = n.core.ready();
    const lines = this.formatReady(rd);
    for (const l of lines) this.out.push(`  ${l}`);
    this.persist(n, rd);
    for (const m of rd.messages) {
      const q = this.queues.get(m.to) ?? [];
      q.push(m);
      this.queues.set(m.to, q);
    }
    n.core.advance(rd);
    return true;
  }

  private formatReady(rd: Ready): string[] {
    const lines = [`Ready mustSync=${rd.mustSync}:`];
    if (rd.softState !== undefined) lines.push(`Lead:${rd.softState.leader} Role:${rd.softState.role}`);
    if (rd.hardState !== undefined) {
      const hs = rd.hardState;
      lines.push(`HardState term=${hs.term} vote=${hs.vote} commit=${hs.commit}`);
    }
    if (rd.snapshot !== undefined) {
      const s = rd.snapshot.meta;
      lines.push(
        `Snapshot ${s.term}/${s.index} voters=(${s.confState.voters.join(",")}) data=${text(rd.snapshot.data)}`,
      );
    }
    const section = (title: string, items: string[]) => {
      if (items.length === 0) return;
      lines.push(`${title}:`);
      for (const i of items) lines.push(`  ${i}`);
    };
    section("Entries", rd.entries.map(formatEntry));
    section("CommittedEntries", rd.committedEntries.map(formatEntry));
    section("Messages", rd.messages.map(formatMessage));
    section(
      "ReadStates",
      rd.readStates.map((r) => `index=${r.index} context=${text(r.context)}`),
    );
    return lines;
  }

  /** Persists and applies a Ready (storage first, then the state machine). */
  private persist(n: EnvNode, rd: Ready): void {
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    if (rd.snapshot !== undefined)
      n.applied = JSON.parse(new TextDecoder().decode(rd.snapshot.data)) as string[];
    for (const e of rd.committedEntries) {
      if (e.type === "normal" && e.data.byteLength > 0) n.applied.push(new TextDecoder().decode(e.data));
    }
  }

  /** Steps every queued message for `id` into it. Returns whether there were any. */
  private deliver(id: number): boolean {
    const q = this.queues.get(id) ?? [];
    if (q.length === 0) return false;
    this.queues.set(id, []);
    const n = this.node(id);
    this.out.push(`> ${id} receiving messages`);
    for (const m of q) {
      // A partitioned node is cut off from every other one.
      if (this.partitioned.has(m.from) || this.partitioned.has(m.to)) {
        this.out.push(`  ${formatMessage(m)} DROPPED (partitioned)`);
        continue;
      }
      this.out.push(`  ${formatMessage(m)}`);
      n.core.step(m);
    }
    return true;
  }

  private stabilize(ids: number[]): void {
    for (let round = 0; round < 1000; round++) {
      let progress = false;
      for (const id of ids) progress = this.processReady(this.node(id)) || progress;
      for (const id of ids) progress = this.deliver(id) || progress;
      if (!progress) return;
    }
    throw new Error("stabilize did not settle within 1000 rounds");
  }

  private compact(n: EnvNode, index: number): void {
    const data = bytes(JSON.stringify(n.applied));
    n.storage.createSnapshot(index, n.core.confState(), data);
    n.storage.compact(index);
    this.out.push(
      `${n.id}: snapshot ${n.storage.snapshot().meta.term}/${index}, log from ${n.storage.firstIndex()}`,
    );
  }

  private status(n: EnvNode): void {
    const s = n.core.status();
    const cs = s.confState;
    this.out.push(
      `${n.id}: ${s.role} term=${s.term} lead=${s.leader} commit=${s.commit} applied=${s.applied} last=${s.lastIndex} voters=(${cs.voters.join(",")})${
        cs.learners.length > 0 ? ` learners=(${cs.learners.join(",")})` : ""
      }`,
    );
    for (const [id, p] of [...s.progress].sort(([a], [b]) => a - b)) {
      this.out.push(
        `  ${id}: ${p.state} match=${p.match} next=${p.next}${p.recentActive ? "" : " inactive"}`,
      );
    }
  }

  /** A log line of a core, shown when at or above the transcript's level. */
  private logLine(line: string): void {
    const rec = JSON.parse(line) as Record<string, unknown>;
    const level = rec.level as number;
    if (level < LEVELS[this.level]) return;
    const fields = Object.entries(rec)
      .filter(([k]) => !["level", "time", "pid", "hostname", "raftId", "msg"].includes(k))
      .map(([k, v]) => `${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : String(v)}`);
    this.out.push(
      `${LEVEL_NAMES[level] ?? level} ${rec.raftId}: ${rec.msg}${fields.length > 0 ? ` ${fields.join(" ")}` : ""}`,
    );
  }
}
