// The node's overlay side (stage 2): the runtime's OverlayNetworks programmed from the manager's
// payload plus the node's own endpoints, and the embedded resolver on every overlay gateway. The
// endpoints are written to `<dataDir>/overlay-endpoints.json` before each apply, so a restarted
// agent — also after a kill in the middle of attaching — programs exactly what its containers
// need and `apply` removes whatever is left over (veths, VXLAN devices, routes, rules).
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, type Logger, systemClock } from "@shoal/base";
import type { NodeOverlay } from "@shoal/proto";
import { buildDnsView, type CommandRunner, DnsResolver, OverlayNetworks } from "@shoal/runtime";
import { type LocalEndpoint, resolverFor, toOverlayDesired } from "./overlay-desired.js";

/** Wait before programming again after a failed apply (a namespace not there yet, say). */
export const DEFAULT_OVERLAY_RETRY_MS = 2_000;

export interface NodeOverlaysOptions {
  dataDir: string;
  /** This node's underlay address (the VXLAN tunnel endpoint), as the managers know it. */
  localAddr: string;
  /** The node's own resolvers, for names that are not ours. */
  upstreams: readonly string[];
  /** UDP port of the embedded resolver; default 53. */
  dnsPort?: number;
  /** The containers that exist: endpoints recorded for others are dropped at open. */
  containerIds: readonly string[];
  /**
   * The namespace of a local container attached to the node network, if it is: a task of this
   * node in the payload without a recorded endpoint (the agent was killed between attaching and
   * recording it) is adopted with it.
   */
  netnsOf?: (taskId: string) => string | undefined;
  runner?: CommandRunner;
  clock?: Clock;
  retryMs?: number;
  logger: Logger;
}

export class NodeOverlays {
  private readonly log: Logger;
  private readonly networks: OverlayNetworks;
  private readonly dns: DnsResolver;
  private readonly clock: Clock;
  private readonly retryMs: number;
  private readonly file: string;
  private overlay: NodeOverlay | undefined;
  /**
   * Tasks whose endpoint was removed: never adopted again. The payload still lists a task for a
   * moment after its container stopped (until its last status reaches the manager), and its
   * node-network lease goes only after the overlay detach — adopting it in between recorded an
   * endpoint for a stopped container that nothing removed. Pruned to the tasks the payload lists.
   */
  private readonly removed = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  /** The apply queued and not started yet: it reads the state when it starts, so it serves every caller until then. */
  private waiting: Promise<void> | undefined;
  private readonly closed = new AbortController();
  private retrying = false;
  private readonly localAddr: string;
  private readonly netnsOf: ((taskId: string) => string | undefined) | undefined;

  private constructor(
    options: NodeOverlaysOptions,
    private readonly endpoints: Map<string, LocalEndpoint>,
  ) {
    this.log = options.logger.child({ module: "agent/overlay" });
    this.networks = new OverlayNetworks({
      localAddr: options.localAddr,
      ...(options.runner === undefined ? {} : { runner: options.runner }),
      logger: options.logger,
    });
    this.dns = new DnsResolver({
      upstreams: options.upstreams,
      ...(options.dnsPort === undefined ? {} : { port: options.dnsPort }),
      logger: options.logger,
    });
    this.clock = options.clock ?? systemClock;
    this.retryMs = options.retryMs ?? DEFAULT_OVERLAY_RETRY_MS;
    this.file = join(options.dataDir, "overlay-endpoints.json");
    this.localAddr = options.localAddr;
    this.netnsOf = options.netnsOf;
  }

  /** Reads the recorded endpoints of containers that still exist; programs nothing yet. */
  static async open(options: NodeOverlaysOptions): Promise<NodeOverlays> {
    const endpoints = new Map<string, LocalEndpoint>();
    let recorded: LocalEndpoint[] = [];
    try {
      recorded = JSON.parse(await readFile(join(options.dataDir, "overlay-endpoints.json"), "utf8"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const live = new Set(options.containerIds);
    for (const ep of recorded) if (live.has(ep.taskId)) endpoints.set(ep.taskId, ep);
    return new NodeOverlays(options, endpoints);
  }

  /** The manager's payload (undefined: the node needs no overlay); reprograms the node. */
  setOverlay(overlay: NodeOverlay | undefined): Promise<void> {
    this.overlay = overlay;
    const listed = new Set<string>();
    for (const service of overlay?.services ?? []) {
      for (const t of service.tasks) {
        if (t.nodeAddr !== this.localAddr) continue;
        listed.add(t.id);
        if (this.endpoints.has(t.id) || this.removed.has(t.id)) continue;
        const netns = this.netnsOf?.(t.id);
        if (netns === undefined) continue;
        this.log.info({ taskId: t.id }, "adopting an overlay endpoint that was never recorded");
        this.endpoints.set(t.id, {
          taskId: t.id,
          netns,
          networks: t.addresses.map((a) => ({ networkId: a.networkId, ip: a.addr })),
        });
      }
    }
    for (const id of this.removed) if (!listed.has(id)) this.removed.delete(id);
    return this.apply();
  }

  /** The resolver address for a task on `networks`: its first known network's gateway. */
  resolverFor(networks: readonly { networkId: string }[]): string | undefined {
    return resolverFor(this.overlay, networks);
  }

  async addEndpoint(ep: LocalEndpoint): Promise<void> {
    this.endpoints.set(ep.taskId, ep);
    await this.apply();
  }

  async removeEndpoint(taskId: string): Promise<void> {
    this.removed.add(taskId);
    if (!this.endpoints.delete(taskId)) return;
    await this.apply();
  }

  /** Stops the resolver; the programmed state stays (containers keep running without the agent). */
  async close(): Promise<void> {
    this.closed.abort();
    await this.queue;
    this.dns.close();
  }

  /**
   * Serialised; a failure is logged and retried after `retryMs` (never thrown at callers). Calls
   * while one apply runs share the next: a scale-up brings a payload and an endpoint per new
   * task within a few hundred milliseconds, and applying each in turn made the last wait for
   * every pass before it (each lists the links and rewrites what changed).
   */
  private apply(): Promise<void> {
    if (this.waiting !== undefined) return this.waiting;
    const next = this.queue.then(() => {
      this.waiting = undefined;
      return this.applyOnce();
    });
    this.waiting = next;
    this.queue = next;
    return next;
  }

  private async applyOnce(): Promise<void> {
    if (this.closed.signal.aborted) return;
    const endpoints = [...this.endpoints.values()];
    const desired = toOverlayDesired(this.overlay, endpoints);
    try {
      await writeFile(`${this.file}.tmp`, JSON.stringify(endpoints));
      await rename(`${this.file}.tmp`, this.file);
      await this.networks.apply(desired);
      await this.dns.update(buildDnsView(desired));
      this.log.debug(
        { networks: desired.networks.length, endpoints: desired.endpoints.length },
        "overlay programmed",
      );
    } catch (err) {
      this.log.warn({ err }, "programming the overlay failed; trying again");
      this.retryLater();
    }
  }

  private retryLater(): void {
    if (this.retrying || this.closed.signal.aborted) return;
    this.retrying = true;
    this.clock
      .sleep(this.retryMs, this.closed.signal)
      .then(
        () => {
          this.retrying = false;
          return this.apply();
        },
        () => {
          this.retrying = false;
        },
      )
      .catch(() => undefined);
  }
}
