import type { ImageSummary } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { formatSize, imageRows, shortImageId, splitReference } from "./image-rows.js";

const image = (id: string, names: string[]): ImageSummary => ({
  id,
  names,
  manifestDigest: "sha256:m",
  platform: "linux/amd64",
  sizeBytes: 4_264_000,
  createdAtMs: 1,
});

describe("image rows", () => {
  it("splits references at the tag, not at a registry port; digests have no tag", () => {
    expect(splitReference("10.0.0.1:5000/fixtures/busybox:1")).toEqual({
      repository: "10.0.0.1:5000/fixtures/busybox",
      tag: "1",
    });
    expect(splitReference("10.0.0.1:5000/busybox")).toEqual({
      repository: "10.0.0.1:5000/busybox",
      tag: "latest",
    });
    expect(splitReference("docker.io/library/x@sha256:abc")).toEqual({
      repository: "docker.io/library/x",
      tag: "<none>",
    });
  });

  it("one row per name, sorted; an image without names is <none>", () => {
    const hex = "a".repeat(64);
    const rows = imageRows([
      image(`sha256:${hex}`, ["r/b:2", "r/a:1"]),
      image(`sha256:${"b".repeat(64)}`, []),
    ]);
    expect(rows.map((r) => [r.repository, r.tag, r.shortId])).toEqual([
      ["<none>", "<none>", "bbbbbbbbbbbb"],
      ["r/a", "1", "aaaaaaaaaaaa"],
      ["r/b", "2", "aaaaaaaaaaaa"],
    ]);
    expect(shortImageId(`sha256:${hex}`)).toBe("aaaaaaaaaaaa");
  });

  it("prints sizes like docker (SI, three digits)", () => {
    expect(formatSize(512)).toBe("512B");
    expect(formatSize(4_264_000)).toBe("4.26MB");
    expect(formatSize(1_000_000)).toBe("1MB");
    expect(formatSize(1_234_567_890)).toBe("1.23GB");
  });
});
