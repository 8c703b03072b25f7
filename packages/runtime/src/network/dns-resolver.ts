import { createSocket, type Socket } from "node:dgram";
import type { Logger } from "@shoal/base";
import * as dnsPacket from "dns-packet";
import { type DnsView, resolveName } from "./dns-view.js";

export interface DnsResolverOptions {
  /** UDP port to listen on at each gateway address; default 53. */
  port?: number;
  /** The node's own resolvers (`ip:port` or `ip`), for every name that is not ours. */
  upstreams: readonly string[];
  /** Time to wait for an upstream before trying the next; default 2000 ms. */
  upstreamTimeoutMs?: number;
  logger: Logger;
}

const SERVFAIL = 2;
/** Names change as tasks come and go: containers must ask again rather than cache. */
const TTL = 0;

function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(":");
  return i < 0 ? { host: s, port: 53 } : { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/**
 * The node's embedded resolver: one UDP socket per overlay gateway address. A container's
 * question for a service name of a network it is on is answered from the view (VIP, task
 * addresses, `tasks.<service>`); every other question is relayed as it is to the node's resolvers.
 */
export class DnsResolver {
  private readonly log: Logger;
  private readonly port: number;
  private readonly upstreams: { host: string; port: number }[];
  private readonly timeoutMs: number;
  private readonly sockets = new Map<string, Socket>();
  private view: DnsView = { listen: [], clients: new Map(), names: new Map() };

  constructor(options: DnsResolverOptions) {
    this.log = options.logger.child({ module: "runtime/dns" });
    this.port = options.port ?? 53;
    this.upstreams = options.upstreams.map(splitHostPort);
    this.timeoutMs = options.upstreamTimeoutMs ?? 2000;
  }

  /** Takes the new view and listens on exactly its gateway addresses. */
  async update(view: DnsView): Promise<void> {
    this.view = view;
    const want = new Set(view.listen);
    for (const [addr, socket] of this.sockets) {
      if (!want.has(addr)) {
        socket.close();
        this.sockets.delete(addr);
      }
    }
    for (const addr of want) {
      if (this.sockets.has(addr)) continue;
      const socket = createSocket("udp4");
      socket.on("message", (msg, rinfo) => {
        this.answer(socket, msg, rinfo.address, rinfo.port).catch((err: unknown) =>
          this.log.warn({ err }, "answering a DNS question failed"),
        );
      });
      socket.on("error", (err) => this.log.warn({ err, addr }, "DNS socket error"));
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(this.port, addr, () => {
          socket.off("error", reject);
          resolve();
        });
      });
      this.sockets.set(addr, socket);
    }
  }

  close(): void {
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }

  private async answer(socket: Socket, msg: Buffer, address: string, port: number): Promise<void> {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: nothing sensible to answer
    }
    const question = query.questions?.[0];
    const ips = question === undefined ? undefined : resolveName(this.view, address, question.name);
    if (question !== undefined && ips !== undefined) {
      const answers: dnsPacket.Answer[] =
        question.type === "A"
          ? ips.map((ip) => ({ type: "A", name: question.name, class: "IN", ttl: TTL, data: ip }))
          : [];
      const reply = dnsPacket.encode({
        type: "response",
        id: query.id ?? 0,
        flags:
          dnsPacket.AUTHORITATIVE_ANSWER |
          dnsPacket.RECURSION_AVAILABLE |
          ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED),
        questions: [question],
        answers,
      });
      socket.send(reply, port, address);
      return;
    }
    const relayed = await this.relay(msg);
    if (relayed !== undefined) {
      socket.send(relayed, port, address);
      return;
    }
    socket.send(
      dnsPacket.encode({
        type: "response",
        id: query.id ?? 0,
        flags: SERVFAIL | dnsPacket.RECURSION_AVAILABLE,
        questions: query.questions ?? [],
      }),
      port,
      address,
    );
  }

  /** The first upstream's reply to the question, as it came; undefined when none answered in time. */
  private async relay(msg: Buffer): Promise<Buffer | undefined> {
    for (const up of this.upstreams) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const s = createSocket("udp4");
        const done = (value: Buffer | undefined) => {
          clearTimeout(timer);
          s.close();
          resolve(value);
        };
        const timer = setTimeout(() => done(undefined), this.timeoutMs);
        s.on("error", () => done(undefined));
        s.on("message", (m) => done(m));
        s.send(msg, up.port, up.host);
      });
      if (reply !== undefined) return reply;
    }
    return undefined;
  }
}
