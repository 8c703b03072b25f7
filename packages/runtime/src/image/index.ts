export { ImageErrorCode } from "./errors.js";
export type {
  ImageConfig,
  ImageHealthcheck,
  ImageLayer,
  ImageRecord,
  ImageStore,
  ImportOptions,
  Platform,
  PullOptions,
  PullProgress,
  PushOptions,
  PushProgress,
  RegistryCredentials,
  RegistryHostConfig,
  RemoveOptions,
  RemoveResult,
} from "./types.js";
