export * from "./container/index.js";
export * from "./image/index.js";
export * from "./network/index.js";
export { isPermanent } from "./permanence.js";
