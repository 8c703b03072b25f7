import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock, ShoalError } from "@shoal/base";
import { afterEach, describe, expect, it } from "vitest";
import { buildBusyboxImage } from "../testing/busybox-image.js";
import { sha256Digest } from "./digest.js";
import { ImageErrorCode } from "./errors.js";
import { LocalImageStore } from "./image-store.js";
import { MediaType } from "./media-types.js";
import { parseReference } from "./reference.js";
import { RegistryClient } from "./registry-client.js";

// Protocol corner cases against a scripted loopback server; the happy paths run against the real
// docker-registry in registry-roundtrip.test.ts.

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse, host: string) => void,
): Promise<string> {
  let host = "";
  server = createServer((req, res) => handler(req, res, host));
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", () => resolve()));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return host;
}

const manifest = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: {}, layers: [] }),
);

describe("RegistryClient", () => {
  it("caches a bearer token per scope until it expires", async () => {
    const tokensIssued: string[] = [];
    const host = await serve((req, res, h) => {
      if (req.url?.startsWith("/token")) {
        tokensIssued.push(req.url);
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ token: `t${tokensIssued.length}`, expires_in: 60 }));
        return;
      }
      if (req.headers.authorization !== `Bearer t${tokensIssued.length}` || tokensIssued.length === 0) {
        res
          .writeHead(401, {
            "www-authenticate": `Bearer realm="http://${h}/token",service="reg",scope="repository:app:pull"`,
          })
          .end();
        return;
      }
      res
        .writeHead(200, {
          "content-type": MediaType.OciManifest,
          "docker-content-digest": sha256Digest(manifest),
        })
        .end(manifest);
    });
    const clock = new ManualClock(1_000_000);
    const client = new RegistryClient({ hosts: { [host]: { insecure: true } }, nowMs: () => clock.now() });
    const ref = parseReference(`${host}/app:1`);
    expect((await client.getManifest(ref)).digest).toBe(sha256Digest(manifest));
    await client.getManifest(ref);
    expect(tokensIssued).toEqual(["/token?service=reg&scope=repository%3Aapp%3Apull"]);
    clock.advance(61_000);
    await client.getManifest(ref);
    expect(tokensIssued.length).toBe(2);
  });

  it("refuses a manifest whose bytes do not match Docker-Content-Digest", async () => {
    const host = await serve((_req, res) => {
      res
        .writeHead(200, {
          "content-type": MediaType.OciManifest,
          "docker-content-digest": `sha256:${"0".repeat(64)}`,
        })
        .end(manifest);
    });
    const client = new RegistryClient({ hosts: { [host]: { insecure: true } } });
    const err = await client.getManifest(parseReference(`${host}/app:1`)).catch((e: unknown) => e);
    expect(ShoalError.is(err, ImageErrorCode.DigestMismatch)).toBe(true);
  });

  it("reports the registry's own error when credentials are refused", async () => {
    const host = await serve((req, res) => {
      const denied = JSON.stringify({
        errors: [{ code: "DENIED", message: "requested access to the resource is denied" }],
      });
      if (req.headers.authorization === undefined)
        res.writeHead(401, { "www-authenticate": 'Basic realm="r"' }).end();
      else res.writeHead(403, { "content-type": "application/json" }).end(denied);
    });
    const client = new RegistryClient({
      hosts: { [host]: { insecure: true, credentials: { kind: "basic", username: "u", password: "p" } } },
    });
    const err = await client.getManifest(parseReference(`${host}/app:1`)).catch((e: unknown) => e);
    expect(ShoalError.is(err, ImageErrorCode.Unauthorized)).toBe(true);
    expect((err as Error).message).toBe(
      `unauthorized: registry "${host}" refused to let us pull "app" (DENIED: requested access to the resource is denied)`,
    );
  });

  it("names the registry error code of other failures", async () => {
    const host = await serve((_req, res) => {
      res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ errors: [{ code: "UNKNOWN", message: "disk full" }] }));
    });
    const client = new RegistryClient({ hosts: { [host]: { insecure: true } } });
    const err = await client.getManifest(parseReference(`${host}/app:1`)).catch((e: unknown) => e);
    expect(ShoalError.is(err, ImageErrorCode.RegistryProtocol)).toBe(true);
    expect((err as Error).message).toBe(
      `registry "${host}" failed to serve manifest "1": UNKNOWN: disk full`,
    );
  });

  it("retries a layer download the connection dropped half way", async () => {
    if (process.getuid?.() !== 0) throw new Error("this test unpacks a layer and needs root");
    const image = await buildBusyboxImage("one-layer");
    const layer = image.layers[0] as (typeof image.layers)[number];
    let layerGets = 0;
    const host = await serve((req, res) => {
      const url = req.url ?? "";
      if (url.endsWith("/manifests/1")) {
        res.writeHead(200, { "content-type": MediaType.OciManifest }).end(image.manifest);
      } else if (url.endsWith(image.configDigest)) {
        res.writeHead(200).end(image.config);
      } else if (url.endsWith(layer.digest)) {
        layerGets++;
        res.writeHead(200, { "content-length": String(layer.gzip.length) });
        if (layerGets === 1) {
          res.write(layer.gzip.subarray(0, layer.gzip.length >> 1), () => res.destroy());
        } else {
          res.end(layer.gzip);
        }
      } else {
        res.writeHead(404).end();
      }
    });
    const root = await mkdtemp(join(tmpdir(), "shoal-retry-test-"));
    try {
      const store = new LocalImageStore({ root, registries: { [host]: { insecure: true } } });
      await store.open();
      const record = await store.pull(`${host}/app:1`);
      expect(record.id).toBe(image.configDigest);
      expect(layerGets).toBe(2);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
