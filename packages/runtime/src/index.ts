export * from "./container/index.js";
export * from "./image/index.js";
