// Test fixtures for the runtime and for other packages' end-to-end tests:
// `import { buildBusyboxImage } from "@shoal/runtime/testing"`.
export {
  assembleImage,
  BUSYBOX_PATH,
  buildBusyboxImage,
  FIXTURE_USERS,
  type FixtureConfigOverrides,
  type FixtureImage,
  type FixtureKind,
  type FixtureLayer,
  THREE_LAYER_TREE,
  writeDockerSave,
  writeOciArchive,
  writeOciLayout,
  writeRootfsTar,
} from "./busybox-image.js";
export {
  freeLoopbackPort,
  REGISTRY_BINARY,
  startRegistry,
  type TestRegistry,
  type TestRegistryAuth,
  type TestRegistryOptions,
} from "./registry.js";
export { buildSyntheticImage, buildSyntheticLayer } from "./synthetic-image.js";
export { startTokenServer, type TokenServer, type TokenServerOptions } from "./token-server.js";
