import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { ImageErrorCode } from "./errors.js";
import { parseImageConfig } from "./image-config.js";
import { type ParsedIndex, parseManifestDocument, selectPlatform } from "./manifest.js";
import { MediaType } from "./media-types.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return ShoalError.is(err) ? err.code : "not a ShoalError";
  }
  return undefined;
}

describe("parseManifestDocument", () => {
  it("reads a Docker schema 2 manifest by its Content-Type", () => {
    const doc = parseManifestDocument(
      json({
        schemaVersion: 2,
        config: { mediaType: MediaType.DockerConfig, digest: d("a"), size: 10 },
        layers: [{ mediaType: MediaType.DockerLayerGzip, digest: d("b"), size: 20 }],
      }),
      `${MediaType.DockerManifest}; charset=utf-8`,
    );
    expect(doc).toMatchObject({
      kind: "manifest",
      mediaType: MediaType.DockerManifest,
      layers: [{ digest: d("b") }],
    });
  });

  it.each([
    ["schema 1", { schemaVersion: 1, fsLayers: [] }],
    [
      "a bad digest",
      {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: "md5:x", size: 1 },
        layers: [],
      },
    ],
    [
      "an unknown layer type",
      {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: d("a"), size: 1 },
        layers: [{ mediaType: "text/plain", digest: d("b"), size: 1 }],
      },
    ],
  ])("rejects %s", (_what, doc) => {
    expect(code(() => parseManifestDocument(json(doc)))).toBe(ImageErrorCode.InvalidManifest);
  });
});

describe("selectPlatform", () => {
  const index: ParsedIndex = {
    kind: "index",
    mediaType: MediaType.DockerManifestList,
    manifests: [
      {
        mediaType: MediaType.DockerManifest,
        digest: d("1"),
        size: 1,
        platform: { os: "linux", architecture: "arm", variant: "v7" },
      },
      {
        mediaType: MediaType.DockerManifest,
        digest: d("2"),
        size: 1,
        platform: { os: "linux", architecture: "arm64" },
      },
      {
        mediaType: MediaType.DockerManifest,
        digest: d("3"),
        size: 1,
        platform: { os: "linux", architecture: "arm64", variant: "v8" },
      },
      {
        mediaType: MediaType.DockerManifest,
        digest: d("4"),
        size: 1,
        platform: { os: "linux", architecture: "amd64" },
      },
      {
        mediaType: MediaType.DockerManifest,
        digest: d("5"),
        size: 1,
        platform: { os: "windows", architecture: "amd64" },
      },
    ],
  };

  it("prefers the exact variant, then an entry without one", () => {
    expect(selectPlatform(index, { os: "linux", architecture: "amd64" }).digest).toBe(d("4"));
    expect(selectPlatform(index, { os: "linux", architecture: "arm64", variant: "v8" }).digest).toBe(d("3"));
    expect(selectPlatform(index, { os: "linux", architecture: "arm64", variant: "v9" }).digest).toBe(d("2"));
  });

  it("names the available platforms when none fits", () => {
    let message = "";
    try {
      selectPlatform(index, { os: "linux", architecture: "s390x" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(
      'image has no manifest for platform "linux/s390x" (available: linux/arm/v7, linux/arm64, linux/arm64/v8, linux/amd64, windows/amd64)',
    );
  });
});

describe("parseImageConfig", () => {
  it("converts Docker's config fields, healthcheck durations to milliseconds", () => {
    const parsed = parseImageConfig(
      json({
        architecture: "amd64",
        os: "linux",
        config: {
          Entrypoint: ["/entry"],
          Cmd: ["run"],
          Env: ["A=1"],
          WorkingDir: "/app",
          User: "nobody:nogroup",
          StopSignal: "SIGQUIT",
          ExposedPorts: { "8080/tcp": {}, "53/udp": {} },
          Volumes: { "/data": {} },
          Labels: { a: "b" },
          Healthcheck: {
            Test: ["CMD-SHELL", "true"],
            Interval: 5_000_000_000,
            Timeout: 1_000_000_000,
            StartPeriod: 0,
            Retries: 3,
          },
        },
        rootfs: { type: "layers", diff_ids: [d("c")] },
      }),
    );
    expect(parsed).toEqual({
      platform: { os: "linux", architecture: "amd64" },
      diffIds: [d("c")],
      config: {
        entrypoint: ["/entry"],
        cmd: ["run"],
        env: ["A=1"],
        workingDir: "/app",
        user: "nobody:nogroup",
        stopSignal: "SIGQUIT",
        exposedPorts: ["53/udp", "8080/tcp"],
        volumes: ["/data"],
        labels: { a: "b" },
        healthcheck: { test: ["CMD-SHELL", "true"], intervalMs: 5000, timeoutMs: 1000, retries: 3 },
      },
    });
  });

  it("rejects a config without diff ids", () => {
    expect(code(() => parseImageConfig(json({ config: {} })))).toBe(ImageErrorCode.InvalidManifest);
  });
});
