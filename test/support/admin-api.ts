// The control API over a daemon's admin socket, for benches that poll it in-process (a `shoal`
// process per poll would load the machine it measures).
import * as grpc from "@grpc/grpc-js";
import { ControlClient, ListServicesRequest, type ListServicesResponse } from "@shoal/proto";

/** A generated client's callback call as a promise. */
export function unary<T>(call: (cb: (err: grpc.ServiceError | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** A control client on the admin socket at `socketPath` (local root: no certificate). */
export function adminControlClient(socketPath: string): ControlClient {
  return new ControlClient(`unix:${socketPath}`, grpc.credentials.createInsecure());
}

/** The id of the service named `name`; throws when there is none. */
export async function serviceIdByName(client: ControlClient, name: string): Promise<string> {
  const r = await unary<ListServicesResponse>((cb) =>
    client.listServices(ListServicesRequest.fromPartial({ filters: { names: [name] } }), cb),
  );
  const id = r.services[0]?.id;
  if (id === undefined) throw new Error(`no service "${name}"`);
  return id;
}
