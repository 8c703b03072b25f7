/**
 * Error codes of the container side of the runtime. Each says when it happens; messages follow
 * STYLE.md (lowercase, subject first, values quoted).
 */
export const ContainerErrorCode = {
  /** `inspect`, `start`, `stop`, `logs`, … named a container id this runtime does not hold. */
  NotFound: "CONTAINER_NOT_FOUND",
  /** `create` was given an id that is already in use. */
  AlreadyExists: "CONTAINER_ALREADY_EXISTS",
  /** The container spec cannot become a runc bundle (unknown capability, bad user, bad mount…). */
  InvalidSpec: "CONTAINER_INVALID_SPEC",
  /** The spec names a user or group that the image's /etc/passwd or /etc/group does not define. */
  UserNotFound: "CONTAINER_USER_NOT_FOUND",
  /** The image gives nothing to run: no entrypoint, no cmd, and the spec adds no command. */
  NoCommand: "CONTAINER_NO_COMMAND",
  /** conmon or `runc create` failed; the message carries runc's own words. */
  CreateFailed: "CONTAINER_CREATE_FAILED",
  /** `runc start` failed, or the container was not in the `created` state. */
  StartFailed: "CONTAINER_START_FAILED",
  /** A runc or mount command failed unexpectedly. */
  CommandFailed: "CONTAINER_COMMAND_FAILED",
  /** The operation does not fit the container's state (start twice, exec in a stopped one…). */
  InvalidState: "CONTAINER_INVALID_STATE",
  /** Another live process already runs a runtime on the same data dir. */
  RootInUse: "CONTAINER_ROOT_IN_USE",
  /** The spec's seccomp profile file is missing, unreadable or not a valid Docker-format profile. */
  SeccompProfileInvalid: "CONTAINER_SECCOMP_PROFILE_INVALID",
  /** A bind mount's source path does not exist on the node. */
  MountSourceNotFound: "CONTAINER_MOUNT_SOURCE_NOT_FOUND",
} as const;
export type ContainerErrorCode = (typeof ContainerErrorCode)[keyof typeof ContainerErrorCode];
