import { describe, expect, it } from "vitest";
import { ContainerErrorCode } from "./container/errors.js";
import { ImageErrorCode } from "./image/errors.js";
import { isPermanent } from "./permanence.js";

describe("isPermanent", () => {
  it("tells a wrong spec from a failure worth retrying", () => {
    expect(isPermanent(ImageErrorCode.InvalidReference)).toBe(true);
    expect(isPermanent(ContainerErrorCode.MountSourceNotFound)).toBe(true);
    expect(isPermanent(ContainerErrorCode.SeccompProfileInvalid)).toBe(true);
    expect(isPermanent(ContainerErrorCode.CreateFailed)).toBe(false);
    expect(isPermanent(ImageErrorCode.DigestMismatch)).toBe(false);
    expect(isPermanent(ImageErrorCode.RegistryUnreachable)).toBe(false);
    expect(isPermanent("EIO")).toBe(false);
    expect(isPermanent("toString")).toBe(false);
    expect(isPermanent(undefined)).toBe(false);
  });
});
