// The one file that calls @shoal/runtime (the image store, the container runtime, the node
// network). Everything else in the agent sees only the `Engine` interface, so a change of the
// runtime's life cycle or API is absorbed here.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { type Clock, type Logger, ShoalError, systemClock } from "@shoal/base";
import { MountType, type NodeOverlay, type RegistryAuth, type Task } from "@shoal/proto";
import {
  type Attachment,
  ContainerErrorCode,
  type ContainerInfo,
  ContainerRuntime,
  createRunner,
  LocalImageStore,
  type NetworkAttachment,
  NetworkErrorCode,
  NodeNetwork,
  offsetOf,
  parseSubnet,
  type RegistryCredentials,
  type RegistryHostConfig,
} from "@shoal/runtime";
import { AgentErrorCode } from "../errors.js";
import { serviceNameOf, type TemplateNode } from "../template/task-template.js";
import type { Engine, EngineContainer, PublishedPort, TaskFile } from "./engine.js";
import { NodeOverlays } from "./node-overlays.js";
import { parseSecurityOpt } from "./security-opt.js";
import { hostPorts, toContainerSpec } from "./to-container-spec.js";

/** How often `waitForChange` looks again when neither an exit nor a health event came. */
export const DEFAULT_ENGINE_POLL_MS = 2_000;

export interface RuntimeEngineOptions {
  /** The node's data dir; images/ and containers/ live under it. */
  dataDir: string;
  nodeId: string;
  /** Cgroup parent of the node's containers, e.g. "/shoal/<node id>". */
  cgroupParent: string;
  runcRoot?: string;
  /** Per registry host: insecure flag and credentials. */
  registries?: Record<string, RegistryHostConfig>;
  /**
   * The node's image store, opened by the caller (the daemon serves `shoal image` from it also
   * while the node is in no cluster); by default one under `<dataDir>/images` with `registries`.
   */
  images?: LocalImageStore;
  /** Containers get their own namespace on the node bridge; without it, loopback only ("none"). */
  network?: RuntimeEngineNetworkOptions;
  logger: Logger;
  clock?: Clock;
  pollMs?: number;
}

/** The node network (bridge, IPAM, NAT, host-mode ports) of @shoal/runtime, stage 1. */
export interface RuntimeEngineNetworkOptions {
  /**
   * The node's container subnet, e.g. "10.88.1.0/24". Left out: the one the manager allocates
   * (Node.container_subnet, from the session), remembered in `<dataDir>/container-subnet` so a
   * restarted agent has it before any manager answers.
   */
  subnet?: string;
  bridge?: string;
  chainPrefix?: string;
  netnsPrefix?: string;
  vethPrefix?: string;
  /** Run the node network's commands in this namespace (a test host) instead of our own. */
  netnsPath?: string;
  /** Overlay networks (stage 2): tasks on networks get an interface on each, VIPs and names. */
  overlay?: RuntimeEngineOverlayOptions;
}

export interface RuntimeEngineOverlayOptions {
  /** This node's underlay address (the VXLAN endpoint): the host part of its cluster address. */
  localAddr: string;
  /** The node's resolvers for names that are not the cluster's (`ip` or `ip:port`). */
  upstreams: readonly string[];
  /** UDP port of the embedded resolver on each gateway; default 53. */
  dnsPort?: number;
}

export class RuntimeEngine implements Engine {
  private readonly changes = new Map<string, Set<() => void>>();
  private readonly attachments = new Map<string, Attaching>();
  /** Subnet changes one at a time (each closes the node network and opens it again). */
  private networkChange: Promise<void> = Promise.resolve();

  private constructor(
    readonly images: LocalImageStore,
    readonly runtime: ContainerRuntime,
    private network: NodeNetwork | undefined,
    private subnet: string | undefined,
    private readonly opts: RuntimeEngineOptions,
    private readonly overlays: NodeOverlays | undefined,
  ) {}

  static async open(opts: RuntimeEngineOptions): Promise<RuntimeEngine> {
    const images =
      opts.images ??
      new LocalImageStore({
        root: join(opts.dataDir, "images"),
        registries: opts.registries,
        logger: opts.logger,
      });
    await images.open();
    let engine: RuntimeEngine | undefined;
    // Opening re-adopts the containers that outlived the previous agent process.
    const runtime = await ContainerRuntime.open({
      root: join(opts.dataDir, "containers"),
      ...(opts.runcRoot === undefined ? {} : { runcRoot: opts.runcRoot }),
      cgroupParent: opts.cgroupParent,
      nodeId: opts.nodeId,
      images,
      logger: opts.logger,
      clock: opts.clock ?? systemClock,
      onHealthChange: (id) => engine?.changed(id),
    });
    let network: NodeNetwork | undefined;
    const subnet =
      opts.network === undefined
        ? undefined
        : (opts.network.subnet ?? (await ignoreMissing(readFile(subnetFile(opts), "utf8")))?.trim());
    if (subnet !== undefined && subnet !== "") network = await openNetwork(opts, runtime, subnet);
    const overlay = opts.network?.overlay;
    const overlays =
      overlay === undefined
        ? undefined
        : await NodeOverlays.open({
            dataDir: opts.dataDir,
            localAddr: overlay.localAddr,
            upstreams: overlay.upstreams,
            ...(overlay.dnsPort === undefined ? {} : { dnsPort: overlay.dnsPort }),
            containerIds: (await runtime.list()).map((c) => c.id),
            netnsOf: (taskId) => engine?.network?.lease(taskId)?.netns,
            ...(opts.network?.netnsPath === undefined
              ? {}
              : { runner: createRunner(opts.network.netnsPath) }),
            ...(opts.clock === undefined ? {} : { clock: opts.clock }),
            logger: opts.logger,
          });
    engine = new RuntimeEngine(images, runtime, network, subnet, opts, overlays);
    return engine;
  }

  async setContainerSubnet(cidr: string): Promise<void> {
    const net = this.opts.network;
    if (net === undefined || cidr === this.subnet) return;
    if (net.subnet !== undefined) {
      this.opts.logger.warn(
        { configured: net.subnet, allocated: cidr },
        "the manager's subnet differs from the configured one; keeping the configured",
      );
      return;
    }
    const change = this.networkChange.then(async () => {
      if (cidr === this.subnet) return;
      try {
        const next = await openNetwork(this.opts, this.runtime, cidr, this.network);
        this.network = next;
        this.subnet = cidr;
        this.attachments.clear();
        const file = subnetFile(this.opts);
        await writeFile(`${file}.tmp`, `${cidr}\n`);
        await rename(`${file}.tmp`, file);
        this.opts.logger.info({ subnet: cidr }, "node network on the manager's container subnet");
      } catch (err) {
        // NETWORK_SUBNET_CHANGED while containers hold addresses of the old one: they keep it.
        this.opts.logger.error(
          { err, subnet: cidr, kept: this.subnet },
          "cannot move the node network to the allocated subnet",
        );
        this.network = undefined;
        if (this.subnet !== undefined) {
          this.network = await openNetwork(this.opts, this.runtime, this.subnet).catch((e: unknown) => {
            this.opts.logger.error({ err: e, subnet: this.subnet }, "cannot reopen the node network");
            return undefined;
          });
        }
      }
    });
    this.networkChange = change;
    await change;
  }

  async setOverlay(overlay: NodeOverlay | undefined): Promise<void> {
    await this.overlays?.setOverlay(overlay);
  }

  /** Timers, watches and locks only: containers keep running. */
  async close(): Promise<void> {
    await this.overlays?.close();
    await this.networkChange;
    await this.network?.close();
    await this.runtime.close();
  }

  async hasImage(ref: string): Promise<boolean> {
    return this.images.get(ref) !== undefined;
  }

  async pull(ref: string, auth: RegistryAuth | undefined, signal: AbortSignal): Promise<void> {
    const credentials = toCredentials(auth);
    await this.images.pull(ref, { signal, ...(credentials === undefined ? {} : { credentials }) });
  }

  networkMode(): "needed" | "not-needed" {
    return this.opts.network === undefined ? "not-needed" : "needed";
  }

  /**
   * Returns once the task's address and ports are recorded; the kernel side of the attach goes on
   * while the container is prepared (`create` waits for it right before `runc create`: ~100 ms of
   * a rolling update's batch that were spent one after the other). A task on overlay networks
   * waits for it here: its endpoint goes into the namespace.
   */
  async attachNetwork(task: Task): Promise<PublishedPort[]> {
    const attaching = this.attach(task);
    const a = await attaching.leased;
    if (this.overlays !== undefined && task.networks.length > 0) {
      await attaching.ready;
      await this.overlays.addEndpoint({
        taskId: task.id,
        netns: basename(a.netnsPath),
        networks: task.networks.map((n) => ({ networkId: n.networkId, ip: bare(n.addresses[0] ?? "") })),
      });
    }
    return a.ports.map((p) => ({
      protocol: p.protocol === "udp" ? "udp" : "tcp",
      targetPort: p.targetPort,
      publishedPort: p.publishedPort,
    }));
  }

  async detachNetwork(taskId: string): Promise<void> {
    this.attachments.delete(taskId);
    await this.overlays?.removeEndpoint(taskId);
    await this.networkChange;
    await this.network?.detach(taskId);
  }

  async create(task: Task, _node: TemplateNode, files: readonly TaskFile[]): Promise<void> {
    const spec = toContainerSpec(task);
    const c = task.spec?.container;
    for (const note of parseSecurityOpt(c?.securityOpt ?? []).ignored) {
      this.opts.logger.warn({ taskId: task.id }, note);
    }
    // Docker's bind option: make the host path when it is missing instead of failing the task.
    for (const m of c?.mounts ?? []) {
      if (m.type === MountType.BIND && m.bindOptions?.createMountpoint === true && m.source.startsWith("/")) {
        await mkdir(m.source, { recursive: true });
      }
    }
    // A task on overlay networks asks the node's embedded resolver (on its first network's
    // gateway) unless its spec names resolvers of its own.
    const resolver = this.overlays?.resolverFor(task.networks);
    const given = c?.dnsConfig;
    const dns =
      resolver !== undefined && (given?.nameservers ?? []).length === 0
        ? {
            nameservers: [resolver],
            ...(given !== undefined && given.search.length > 0 ? { search: given.search } : {}),
            ...(given !== undefined && given.options.length > 0 ? { options: given.options } : {}),
          }
        : given;
    const extra = {
      extraHosts: [...(c?.hosts ?? [])],
      ...(dns === undefined ? {} : { dns }),
    };
    let network: NetworkAttachment = { kind: "none", ...extra };
    let networkReady: Promise<void> | undefined;
    if (this.opts.network !== undefined) {
      const attaching = this.attach(task);
      const a = await attaching.leased;
      network = { kind: "netns", path: a.netnsPath, ...(a.ip === undefined ? {} : { ip: a.ip }), ...extra };
      networkReady = attaching.ready.then(() => undefined);
      networkReady.catch(() => undefined); // the create reports it; an existing container needs none
    }
    try {
      await this.runtime.create({
        id: task.id,
        spec,
        owner: {
          taskId: task.id,
          serviceId: task.serviceId,
          serviceName: serviceNameOf(task),
          slot: Number(task.slot),
        },
        network,
        ...(networkReady === undefined ? {} : { networkReady }),
        // In memory until the runtime writes them to the container's tmpfs.
        files: files.map((f) => ({ ...f })),
      });
    } catch (err) {
      // The container id is the task id: an existing one is this task's, made before a crash.
      if (!ShoalError.is(err, ContainerErrorCode.AlreadyExists)) throw err;
    }
  }

  async start(taskId: string): Promise<void> {
    try {
      await this.runtime.start(taskId);
    } catch (err) {
      if (
        ShoalError.is(err, ContainerErrorCode.InvalidState) &&
        (await this.inspect(taskId))?.state !== "created"
      )
        return;
      throw err;
    }
    this.changed(taskId);
  }

  async inspect(taskId: string): Promise<EngineContainer | undefined> {
    let info: ContainerInfo;
    try {
      info = await this.runtime.inspect(taskId);
    } catch (err) {
      if (ShoalError.is(err, ContainerErrorCode.NotFound)) return undefined;
      throw err;
    }
    return {
      state: info.state,
      exitCode: info.exit?.exitCode,
      oomKilled: info.exit?.oomKilled,
      health: info.health?.status,
      hasHealthcheck: info.health !== undefined,
      pid: info.pid,
    };
  }

  async waitForChange(taskId: string, signal: AbortSignal): Promise<void> {
    const local = new AbortController();
    const both = AbortSignal.any([signal, local.signal]);
    const listeners = this.changes.get(taskId) ?? new Set();
    this.changes.set(taskId, listeners);
    let onChange: (() => void) | undefined;
    try {
      await Promise.race([
        this.runtime.wait(taskId, both),
        new Promise<void>((resolve) => {
          onChange = resolve;
          listeners.add(resolve);
        }),
        (this.opts.clock ?? systemClock).sleep(this.opts.pollMs ?? DEFAULT_ENGINE_POLL_MS, both),
      ]);
    } finally {
      if (onChange !== undefined) listeners.delete(onChange);
      local.abort();
    }
  }

  async stop(task: Task): Promise<void> {
    // The runtime recorded the spec's stop signal and grace period at create.
    await this.runtime.stop(task.id);
    this.changed(task.id);
  }

  async remove(taskId: string): Promise<void> {
    await this.runtime.remove(taskId);
    this.changed(taskId);
  }

  /**
   * The task's attach, begun once: `leased` resolves when its address and ports are recorded,
   * `ready` when its namespace, veth and routes stand. A failed attach (undone by the node
   * network) is forgotten, so the next step attaches again.
   */
  private attach(task: Task): Attaching {
    const known = this.attachments.get(task.id);
    if (known !== undefined) return known;
    let onLeased!: (a: Attachment) => void;
    let failLeased!: (err: unknown) => void;
    const leased = new Promise<Attachment>((resolve, reject) => {
      onLeased = resolve;
      failLeased = reject;
    });
    leased.catch(() => undefined);
    const ready = this.attachment(task, onLeased);
    const entry: Attaching = { leased, ready };
    ready.catch((err: unknown) => {
      failLeased(err);
      if (this.attachments.get(task.id) === entry) this.attachments.delete(task.id);
    });
    this.attachments.set(task.id, entry);
    return entry;
  }

  private async attachment(task: Task, onLeased: (a: Attachment) => void): Promise<Attachment> {
    await this.networkChange;
    const network = this.network;
    if (network === undefined) {
      throw new ShoalError(
        AgentErrorCode.NoSubnet,
        `task "${task.id}" needs the node network, which has no subnet yet`,
        {
          hint: "the manager allocates the node a container subnet when it joins; it comes with the session",
        },
      );
    }
    // The address the manager's allocator gave the task ("10.42.3.7/24"), else the node's IPAM picks
    // (also when the node keeps a configured subnet other than the manager's: its address is not ours).
    const given = task.address === "" ? undefined : task.address.split("/")[0];
    const ip =
      given !== undefined &&
      this.subnet !== undefined &&
      offsetOf(parseSubnet(this.subnet), given) !== undefined
        ? given
        : undefined;
    // NodeNetwork.attach returns the recorded lease when there is one (after an agent restart).
    let a: Attachment;
    try {
      a = await network.attach(
        { containerId: task.id, ports: hostPorts(task), ...(ip === undefined ? {} : { ip }) },
        onLeased,
      );
    } catch (err) {
      // The manager frees an ended task's address at once, but its container (kept for the task
      // history) still holds the lease here: the node's IPAM picks another rather than fail.
      if (ip === undefined || !ShoalError.is(err, NetworkErrorCode.AddressUnavailable)) throw err;
      this.opts.logger.warn(
        { taskId: task.id, ip },
        "the allocated address is still leased here; using another",
      );
      a = await network.attach({ containerId: task.id, ports: hostPorts(task) }, onLeased);
    }
    return a;
  }

  private changed(taskId: string): void {
    for (const l of [...(this.changes.get(taskId) ?? [])]) l();
  }
}

/** An attach in two steps (see `RuntimeEngine.attach`). */
interface Attaching {
  leased: Promise<Attachment>;
  ready: Promise<Attachment>;
}

const bare = (cidr: string): string => cidr.split("/")[0] ?? cidr;

function subnetFile(opts: RuntimeEngineOptions): string {
  return join(opts.dataDir, "container-subnet");
}

/** Opens the node network on `subnet` (closing `previous` first: one owner of the bridge at a time). */
async function openNetwork(
  opts: RuntimeEngineOptions,
  runtime: ContainerRuntime,
  subnet: string,
  previous?: NodeNetwork,
): Promise<NodeNetwork> {
  const { netnsPath, subnet: _configured, ...rest } = opts.network ?? {};
  await previous?.close();
  // Containers are named by task id, so a lease whose container was never created (the agent
  // died between attach and create) is released here instead of holding its port forever.
  const containerIds = (await runtime.list()).map((c) => c.id);
  return NodeNetwork.open({
    ...rest,
    subnet,
    stateDir: join(opts.dataDir, "network"),
    containerIds,
    ...(netnsPath === undefined ? {} : { runner: createRunner(netnsPath) }),
    logger: opts.logger,
  });
}

async function ignoreMissing(read: Promise<string>): Promise<string | undefined> {
  try {
    return await read;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function toCredentials(auth: RegistryAuth | undefined): RegistryCredentials | undefined {
  if (auth === undefined) return undefined;
  if (auth.token !== "") return { kind: "token", token: auth.token };
  if (auth.username !== "") return { kind: "basic", username: auth.username, password: auth.password };
  return undefined;
}
