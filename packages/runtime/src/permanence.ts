import { ContainerErrorCode } from "./container/errors.js";
import { ImageErrorCode } from "./image/errors.js";
import { NetworkErrorCode } from "./network/errors.js";

/**
 * Which runtime errors mean "the spec is wrong" (permanent: the agent rejects the task, retrying
 * the same spec cannot succeed) and which mean "try again" (transient: the node, the registry or
 * timing; the agent retries or reschedules). Every code of the runtime is listed, so a new code
 * does not compile until it is classified. The README's error table says the same.
 */
type RuntimeErrorCode = ContainerErrorCode | ImageErrorCode | NetworkErrorCode;

const P = "permanent";
const T = "transient";

const KIND: Record<RuntimeErrorCode, typeof P | typeof T> = {
  [ContainerErrorCode.InvalidSpec]: P,
  [ContainerErrorCode.UserNotFound]: P,
  [ContainerErrorCode.NoCommand]: P,
  [ContainerErrorCode.SeccompProfileInvalid]: P,
  [ContainerErrorCode.MountSourceNotFound]: P,
  // The caller's id is taken: the same request can never succeed.
  [ContainerErrorCode.AlreadyExists]: P,
  [ContainerErrorCode.NotFound]: T,
  [ContainerErrorCode.CreateFailed]: T,
  [ContainerErrorCode.StartFailed]: T,
  [ContainerErrorCode.CommandFailed]: T,
  [ContainerErrorCode.InvalidState]: T,
  [ContainerErrorCode.RootInUse]: T,
  // The node's state needs a person (restore or move the record); another node can run the task.
  [ContainerErrorCode.RecordUnreadable]: T,
  [ContainerErrorCode.Closed]: T,
  [ImageErrorCode.InvalidReference]: P,
  [ImageErrorCode.NotFoundInRegistry]: P,
  [ImageErrorCode.Unauthorized]: P,
  [ImageErrorCode.InvalidManifest]: P,
  [ImageErrorCode.NoMatchingPlatform]: P,
  [ImageErrorCode.InvalidLayer]: P,
  [ImageErrorCode.InvalidArchive]: P,
  [ImageErrorCode.AmbiguousReference]: P,
  // Still wrong after the pull's own retry: a broken proxy or registry, not the spec.
  [ImageErrorCode.DigestMismatch]: T,
  [ImageErrorCode.RegistryProtocol]: T,
  [ImageErrorCode.RegistryUnreachable]: T,
  // Not in the node's store (yet): pull, then try again.
  [ImageErrorCode.NotFound]: T,
  [ImageErrorCode.InUse]: T,
  [NetworkErrorCode.InvalidPort]: P,
  [NetworkErrorCode.InvalidSubnet]: T,
  [NetworkErrorCode.SubnetChanged]: T,
  [NetworkErrorCode.SubnetExhausted]: T,
  // The manager's allocator gave it; a lease of a container being removed may still hold it.
  [NetworkErrorCode.AddressUnavailable]: T,
  [NetworkErrorCode.PortInUse]: T,
  [NetworkErrorCode.NoEphemeralPort]: T,
  [NetworkErrorCode.CommandFailed]: T,
  [NetworkErrorCode.StateCorrupt]: T,
  [NetworkErrorCode.Closed]: T,
  [NetworkErrorCode.OverlayInvalidSpec]: P,
  [NetworkErrorCode.OverlayNotAttachable]: P,
  [NetworkErrorCode.OverlayEndpointFailed]: T,
};

/** True when an error with this code means the task's spec is wrong; unknown codes are transient. */
export function isPermanent(code: string | undefined): boolean {
  return code !== undefined && Object.hasOwn(KIND, code) && KIND[code as RuntimeErrorCode] === P;
}
