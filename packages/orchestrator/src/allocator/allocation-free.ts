import { EndpointSpec, type Service } from "@shoal/proto";
import { isEndpointCurrent, isIngress } from "./ports.js";

/**
 * A new task of the service needs nothing from the allocator: the service's endpoint is
 * allocated for its current spec, and the task joins no network (none in its template, no
 * ingress port, no VIP left to give back). Such a task is created PENDING with the endpoint
 * copied — what the allocator's next pass would make of it. At 100,000 tasks that pass and its
 * commit of every task were a whole stage of the leader's work between the orchestrator and the
 * scheduler. Anything else is created NEW and waits for the allocator, as in Swarm.
 */
export function needsNoAllocation(service: Service): boolean {
  const known = answers.get(service);
  if (known !== undefined) return known;
  const answer =
    !service.pendingDelete &&
    isEndpointCurrent(service) &&
    (service.spec?.taskTemplate?.networks.length ?? 0) === 0 &&
    !(service.spec?.endpointSpec?.ports ?? []).some(isIngress) &&
    (service.endpoint?.virtualIps.length ?? 0) === 0;
  answers.set(service, answer);
  return answer;
}

/**
 * The answer per service object (the store's objects are never changed in place): it is asked
 * for every task created, 1,000 times per service in one pass, and `isEndpointCurrent` compares
 * two JSON encodings each time.
 */
const answers = new WeakMap<Service, boolean>();

/**
 * The endpoint the allocator would give a new service that publishes nothing and joins no
 * network, or undefined when the allocator has work to do: the control API sets it in the
 * create transaction, so the service's first tasks need no allocator pass either.
 */
export function trivialEndpoint(service: Service): Service["endpoint"] {
  const spec = service.spec;
  if (spec === undefined || (spec.taskTemplate?.networks.length ?? 0) > 0) return undefined;
  if ((spec.endpointSpec?.ports.length ?? 0) > 0) return undefined;
  return { spec: spec.endpointSpec ?? EndpointSpec.fromPartial({}), ports: [], virtualIps: [] };
}
