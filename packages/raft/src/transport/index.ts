export { LocalNetwork } from "./local-network.js";
export type { Transport, TransportHandler } from "./transport.js";
