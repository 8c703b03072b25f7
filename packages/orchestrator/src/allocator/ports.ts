import { ShoalError } from "@shoal/base";
import {
  type Endpoint,
  EndpointSpec,
  type PortConfig,
  PortProtocol,
  PublishMode,
  type Service,
  type ServiceSpec,
} from "@shoal/proto";
import { OrchErrorCode } from "../errors.js";

/** Swarm's dynamic range for ingress ports published without a number. */
export const DYNAMIC_PORT_FIRST = 30_000;
export const DYNAMIC_PORT_LAST = 32_767;

function protocolName(p: PortProtocol): string {
  return p === PortProtocol.UDP ? "udp" : p === PortProtocol.SCTP ? "sctp" : "tcp";
}

export function isIngress(p: PortConfig): boolean {
  return p.publishMode !== PublishMode.HOST;
}

function key(port: number, protocol: PortProtocol): string {
  return `${protocolName(protocol)}/${port}`;
}

/** Ingress ports other services hold (allocated, or fixed in their spec), by "proto/port". */
function ingressPortsHeld(services: Iterable<Service>, exceptId: string): Map<string, Service> {
  const held = new Map<string, Service>();
  for (const s of services) {
    if (s.id === exceptId) continue;
    const ports = [...(s.endpoint?.ports ?? []), ...(s.spec?.endpointSpec?.ports ?? [])];
    for (const p of ports)
      if (isIngress(p) && p.publishedPort > 0) held.set(key(p.publishedPort, p.protocol), s);
  }
  return held;
}

function conflictError(port: PortConfig, holder: Service): ShoalError {
  const name = holder.spec?.name ?? holder.id;
  return new ShoalError(
    OrchErrorCode.PublishedPortInUse,
    `published port ${port.publishedPort}/${protocolName(port.protocol)} is already in use by service "${name}"`,
    {
      hint: `publish another port, or leave the published port empty to get one from ${DYNAMIC_PORT_FIRST}-${DYNAMIC_PORT_LAST}`,
      details: { publishedPort: port.publishedPort, serviceId: holder.id, serviceName: name },
    },
  );
}

/**
 * For the control API at service create/update: the first fixed ingress port of `spec` that
 * another service already holds, as an error naming that service; undefined when all are free.
 */
export function checkPublishedPorts(
  spec: ServiceSpec,
  serviceId: string,
  services: Iterable<Service>,
): ShoalError | undefined {
  const held = ingressPortsHeld(services, serviceId);
  for (const p of spec.endpointSpec?.ports ?? []) {
    if (!isIngress(p) || p.publishedPort <= 0) continue;
    const holder = held.get(key(p.publishedPort, p.protocol));
    if (holder !== undefined) return conflictError(p, holder);
  }
  return undefined;
}

export type PortAllocation =
  | { kind: "allocated"; endpoint: Endpoint }
  | { kind: "refused"; error: ShoalError };

/**
 * The service's endpoint for its current spec: fixed ingress ports checked against the other
 * services, ingress ports without a number given the one they had (same target, protocol and
 * name) or the lowest free one of 30000–32767. Host-mode ports are the nodes' business.
 */
export function allocateServicePorts(service: Service, services: Iterable<Service>): PortAllocation {
  const spec = service.spec?.endpointSpec ?? EndpointSpec.fromPartial({});
  const held = ingressPortsHeld(services, service.id);
  const taken = new Set<string>();
  for (const p of spec.ports) {
    if (!isIngress(p) || p.publishedPort <= 0) continue;
    const holder = held.get(key(p.publishedPort, p.protocol));
    if (holder !== undefined) return { kind: "refused", error: conflictError(p, holder) };
    taken.add(key(p.publishedPort, p.protocol));
  }
  const previous = service.endpoint?.ports ?? [];
  const ports: PortConfig[] = [];
  for (const p of spec.ports) {
    if (!isIngress(p) || p.publishedPort > 0) {
      ports.push({ ...p });
      continue;
    }
    const free = (port: number) => !held.has(key(port, p.protocol)) && !taken.has(key(port, p.protocol));
    const before = previous.find(
      (q) => q.targetPort === p.targetPort && q.protocol === p.protocol && q.name === p.name && isIngress(q),
    );
    let chosen =
      before !== undefined && before.publishedPort >= DYNAMIC_PORT_FIRST && free(before.publishedPort)
        ? before.publishedPort
        : 0;
    for (let port = DYNAMIC_PORT_FIRST; chosen === 0 && port <= DYNAMIC_PORT_LAST; port++)
      if (free(port)) chosen = port;
    if (chosen === 0) {
      return {
        kind: "refused",
        error: new ShoalError(
          OrchErrorCode.PortRangeExhausted,
          `no free ${protocolName(p.protocol)} port left in ${DYNAMIC_PORT_FIRST}-${DYNAMIC_PORT_LAST} for target port ${p.targetPort}`,
        ),
      };
    }
    taken.add(key(chosen, p.protocol));
    ports.push({ ...p, publishedPort: chosen });
  }
  return { kind: "allocated", endpoint: { spec, ports, virtualIps: service.endpoint?.virtualIps ?? [] } };
}

/** The service's endpoint was allocated for its current spec. */
export function isEndpointCurrent(service: Service): boolean {
  const spec = service.spec?.endpointSpec ?? EndpointSpec.fromPartial({});
  const allocatedFor = service.endpoint?.spec;
  if (allocatedFor === undefined) return spec.ports.length === 0 && service.endpoint !== undefined;
  return JSON.stringify(EndpointSpec.toJSON(allocatedFor)) === JSON.stringify(EndpointSpec.toJSON(spec));
}
