import { type ChildProcess, execFile, spawn } from "node:child_process";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { RegistryHostConfig } from "../image/types.js";
import { startTokenServer, type TokenServer } from "./token-server.js";

// Runs Debian's `docker-registry` (distribution 2.8) for tests with a temporary storage dir, on
// 127.0.0.1 or inside a test host's network namespace, in one of three auth modes, all enforced
// by the registry itself:
//   none   anonymous pull and push
//   basic  htpasswd auth (bcrypt hashes made with apache2-utils' `htpasswd -B`)
//   token  bearer tokens from startTokenServer(), trusted through its certificate

const run = promisify(execFile);
export const REGISTRY_BINARY = "/usr/bin/docker-registry";
const SERVICE = "shoal-test-registry";
const ISSUER = "shoal-test-issuer";

export type TestRegistryAuth = "none" | "basic" | "token";

export interface TestRegistryOptions {
  auth?: TestRegistryAuth;
  username?: string;
  password?: string;
  /** token mode: let anonymous clients pull (default false). */
  allowAnonymousPull?: boolean;
  /** Run inside this network namespace (a test host's `netnsPath`) instead of on loopback. */
  netnsPath?: string;
  /** Address to listen on: 127.0.0.1 by default; the test host's address with `netnsPath`. */
  listenAddress?: string;
  /** Registry port: a free loopback port by default, 5000 inside a namespace (the token server
   * then uses port + 1). */
  port?: number;
}

export interface TestRegistry {
  /** "<address>:<port>", the host part of image references. */
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
  /** token mode: the realm clients get their tokens from. */
  tokenRealm?: string | undefined;
  /** token mode on loopback: the in-process token server (counts issued tokens). */
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

/** Resolves once `output()` contains `marker`; fails when the process exits or after 15 s. */
async function waitForOutput(
  what: string,
  child: ChildProcess,
  output: () => string,
  marker: string,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (output().includes(marker)) return;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited with ${child.exitCode ?? child.signalCode}: ${output()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what} did not start within 15s: ${output()}`);
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

function spawnIn(netnsPath: string | undefined, cmd: string, args: string[], cwd?: string): ChildProcess {
  // nsenter without --fork execs the command, so the child's pid is the server's.
  const [file, argv] =
    netnsPath === undefined ? [cmd, args] : ["nsenter", [`--net=${netnsPath}`, "--", cmd, ...args]];
  return spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"], ...(cwd === undefined ? {} : { cwd }) });
}

function collectOutput(child: ChildProcess): () => string {
  let output = "";
  const collect = (data: Buffer) => {
    output = (output + data.toString("utf8")).slice(-8000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  return () => output;
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
  const address = options.listenAddress ?? "127.0.0.1";
  const dir = await mkdtemp(join(tmpdir(), "shoal-registry-"));
  let tokenServer: TokenServer | undefined;
  let tokenChild: ChildProcess | undefined;
  let child: ChildProcess | undefined;
  const cleanup = async () => {
    await stopChild(child);
    await stopChild(tokenChild);
    await tokenServer?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = options.port ?? (options.netnsPath === undefined ? await freeLoopbackPort() : 5000);
    let authConfig = "";
    let tokenRealm: string | undefined;
    if (auth === "basic") {
      await access("/usr/bin/htpasswd").catch(() => {
        throw new Error("htpasswd is missing: install Debian's apache2-utils (deploy/install-deps.sh)");
      });
      const { stdout } = await run("htpasswd", ["-Bbn", username, password]);
      await writeFile(join(dir, "htpasswd"), `${stdout.trim()}\n`);
      authConfig = `auth:\n  htpasswd:\n    realm: shoal-test\n    path: ${join(dir, "htpasswd")}\n`;
    } else if (auth === "token") {
      const tokenOptions = {
        dir,
        username,
        password,
        service: SERVICE,
        issuer: ISSUER,
        listenAddress: address,
        ...(options.allowAnonymousPull === undefined
          ? {}
          : { allowAnonymousPull: options.allowAnonymousPull }),
      };
      let certPath: string;
      if (options.netnsPath === undefined) {
        tokenServer = await startTokenServer(tokenOptions);
        tokenRealm = tokenServer.realm;
        certPath = tokenServer.certPath;
      } else {
        // Node cannot enter a namespace itself: the token server runs as a child inside it.
        const packageDir = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
        const main = join(dirname(fileURLToPath(import.meta.url)), "token-server-main.ts");
        tokenChild = spawnIn(
          options.netnsPath,
          process.execPath,
          ["--import", "tsx", main, JSON.stringify({ ...tokenOptions, port: port + 1 })],
          packageDir,
        );
        const output = collectOutput(tokenChild);
        await waitForOutput("token server", tokenChild, output, "certPath");
        const line = output()
          .split("\n")
          .find((l) => l.includes("certPath")) as string;
        ({ realm: tokenRealm, certPath } = JSON.parse(line) as { realm: string; certPath: string });
      }
      authConfig =
        "auth:\n  token:\n" +
        `    realm: ${tokenRealm}\n    service: ${SERVICE}\n    issuer: ${ISSUER}\n` +
        `    rootcertbundle: ${certPath}\n`;
    }
    const config =
      "version: 0.1\n" +
      // info: the "listening on" line is how we know it is up (and works inside a namespace).
      "log:\n  level: info\n  accesslog:\n    disabled: true\n" +
      `storage:\n  filesystem:\n    rootdirectory: ${join(dir, "storage")}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: ${address}:${port}\n  secret: shoal-test-secret\n` +
      authConfig;
    await writeFile(join(dir, "config.yml"), config);
    child = spawnIn(options.netnsPath, REGISTRY_BINARY, ["serve", join(dir, "config.yml")]);
    // The registry logs the listening address after bind(2), before serving: connections queue.
    await waitForOutput("docker-registry", child, collectOutput(child), "listening on");
    const host = `${address}:${port}`;
    return {
      host,
      auth,
      username,
      password,
      tokenRealm,
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
