import { type ChildProcess, execFile, spawn } from "node:child_process";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RegistryHostConfig } from "../image/types.js";
import { startTokenServer, type TokenServer } from "./token-server.js";

// Runs Debian's `docker-registry` (distribution 2.8) for tests on 127.0.0.1 with a temporary
// storage dir, in one of three auth modes, all enforced by the registry itself:
//   none   anonymous pull and push
//   basic  htpasswd auth (bcrypt hashes made with apache2-utils' `htpasswd -B`)
//   token  bearer tokens from startTokenServer(), trusted through its certificate

const run = promisify(execFile);
export const REGISTRY_BINARY = "/usr/bin/docker-registry";

export type TestRegistryAuth = "none" | "basic" | "token";

export interface TestRegistryOptions {
  auth?: TestRegistryAuth;
  username?: string;
  password?: string;
  /** token mode: let anonymous clients pull (default false). */
  allowAnonymousPull?: boolean;
}

export interface TestRegistry {
  /** "127.0.0.1:<port>", the host part of image references. */
  host: string;
  auth: TestRegistryAuth;
  username: string;
  password: string;
  /** Registry settings for LocalImageStore/RegistryClient: insecure, with these credentials. */
  hostConfig: (withCredentials?: boolean) => RegistryHostConfig;
  /** The registry's filesystem storage (tests may corrupt blobs in it). */
  storageDir: string;
  /** Path of a blob's data file in `storageDir`. */
  blobPath: (digest: string) => string;
  /** token mode: the token server (for counting issued tokens). */
  tokenServer?: TokenServer | undefined;
  stop: () => Promise<void>;
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`docker-registry exited with ${child.exitCode}: ${output()}`);
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`docker-registry did not answer on "${url}" within 15s: ${output()}`);
}

export async function startRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  try {
    await access(REGISTRY_BINARY);
  } catch {
    throw new Error(
      `"${REGISTRY_BINARY}" is missing: install Debian's docker-registry (deploy/install-deps.sh)`,
    );
  }
  const auth = options.auth ?? "none";
  const username = options.username ?? "shoal";
  const password = options.password ?? "s3cret-pass";
  const dir = await mkdtemp(join(tmpdir(), "shoal-registry-"));
  let tokenServer: TokenServer | undefined;
  let child: ChildProcess | undefined;
  const cleanup = async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child?.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await tokenServer?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await freeLoopbackPort();
    let authConfig = "";
    if (auth === "basic") {
      await access("/usr/bin/htpasswd").catch(() => {
        throw new Error("htpasswd is missing: install Debian's apache2-utils (deploy/install-deps.sh)");
      });
      const { stdout } = await run("htpasswd", ["-Bbn", username, password]);
      await writeFile(join(dir, "htpasswd"), stdout.trim() + "\n");
      authConfig = `auth:\n  htpasswd:\n    realm: shoal-test\n    path: ${join(dir, "htpasswd")}\n`;
    } else if (auth === "token") {
      tokenServer = await startTokenServer({
        dir,
        username,
        password,
        service: "shoal-test-registry",
        issuer: "shoal-test-issuer",
        ...(options.allowAnonymousPull === undefined
          ? {}
          : { allowAnonymousPull: options.allowAnonymousPull }),
      });
      authConfig =
        "auth:\n  token:\n" +
        `    realm: ${tokenServer.realm}\n    service: shoal-test-registry\n    issuer: shoal-test-issuer\n` +
        `    rootcertbundle: ${tokenServer.certPath}\n`;
    }
    const config =
      "version: 0.1\n" +
      "log:\n  level: error\n  accesslog:\n    disabled: true\n" +
      `storage:\n  filesystem:\n    rootdirectory: ${join(dir, "storage")}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: 127.0.0.1:${port}\n  secret: shoal-test-secret\n` +
      authConfig;
    await writeFile(join(dir, "config.yml"), config);
    let output = "";
    child = spawn(REGISTRY_BINARY, ["serve", join(dir, "config.yml")], { stdio: ["ignore", "pipe", "pipe"] });
    const collect = (data: Buffer) => {
      output = (output + data.toString("utf8")).slice(-4000);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    await waitReady(`http://127.0.0.1:${port}/v2/`, child, () => output);
    const host = `127.0.0.1:${port}`;
    return {
      host,
      auth,
      username,
      password,
      tokenServer,
      storageDir: join(dir, "storage"),
      blobPath: (digest: string) => {
        const hex = digest.slice("sha256:".length);
        return join(
          dir,
          "storage",
          "docker",
          "registry",
          "v2",
          "blobs",
          "sha256",
          hex.slice(0, 2),
          hex,
          "data",
        );
      },
      hostConfig: (withCredentials = true) => ({
        insecure: true,
        ...(withCredentials && auth !== "none"
          ? { credentials: { kind: "basic" as const, username, password } }
          : {}),
      }),
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
