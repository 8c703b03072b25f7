import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { ImageErrorCode } from "./errors.js";
import { formatReference, parseReference } from "./reference.js";

const D = `sha256:${"a".repeat(64)}`;

describe("parseReference", () => {
  it.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["team/app", "docker.io/team/app:latest"],
    ["127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"],
    ["localhost/a/b:v1", "localhost/a/b:v1"],
    ["reg.example.com/a/b-c_d.e:tag.1", "reg.example.com/a/b-c_d.e:tag.1"],
    [`127.0.0.1:5000/app@${D}`, `127.0.0.1:5000/app@${D}`],
    [`app:1@${D}`, `docker.io/library/app:1@${D}`],
  ])("normalizes %s to %s", (input, normalized) => {
    expect(formatReference(parseReference(input))).toBe(normalized);
  });

  it.each(["", "UPPER", "app:", "app@sha256:abc", "a//b", "-a", "host:99999999999/a:b:c"])(
    "rejects %j with a clear error",
    (input) => {
      let caught: unknown;
      try {
        parseReference(input);
      } catch (err) {
        caught = err;
      }
      expect(ShoalError.is(caught, ImageErrorCode.InvalidReference)).toBe(true);
    },
  );
});
