import type { ImageRecord } from "@shoal/runtime";
import { describe, expect, it } from "vitest";
import { toImageSummary } from "./image-admin.js";

describe("toImageSummary", () => {
  it("names sorted, platform as os/arch[/variant], the store's sizes and times", () => {
    const record = {
      id: "sha256:c",
      manifestDigest: "sha256:m",
      names: ["r/b:1", "r/a:1"],
      platform: { os: "linux", architecture: "arm", variant: "v7" },
      sizeBytes: 42,
      createdAtMs: 7,
    } as unknown as ImageRecord;
    expect(toImageSummary(record)).toEqual({
      id: "sha256:c",
      names: ["r/a:1", "r/b:1"],
      manifestDigest: "sha256:m",
      platform: "linux/arm/v7",
      sizeBytes: 42,
      createdAtMs: 7,
    });
    expect(toImageSummary({ ...record, platform: { os: "linux", architecture: "amd64" } }).platform).toBe(
      "linux/amd64",
    );
  });
});
