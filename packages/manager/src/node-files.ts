// This manager's files in its data dir: its identity (node id, raft id, cluster id) and its TLS
// material. Written under a temporary name, fsynced and renamed, so a crash leaves the old file
// or the new one; keys are 0600 in a 0700 directory. The KEK lives beside them (pki's kekPath).
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ShoalError } from "@shoal/base";
import type { NodeTlsMaterial } from "@shoal/pki";
import { ManagerErrorCode } from "./errors.js";

export interface ManagerIdentity {
  nodeId: string;
  raftId: number;
  clusterId: string;
}

export const identityPath = (dataDir: string) => join(dataDir, "manager.json");
const certsDir = (dataDir: string) => join(dataDir, "certs");
export const raftDir = (dataDir: string) => join(dataDir, "raft");

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, "w", mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export async function writeIdentity(dataDir: string, identity: ManagerIdentity): Promise<void> {
  await writeAtomic(identityPath(dataDir), `${JSON.stringify(identity)}\n`, 0o600);
}

/** The identity, or undefined for a data dir that holds none (a manager never set up here). */
export async function readIdentity(dataDir: string): Promise<ManagerIdentity | undefined> {
  let text: string;
  try {
    text = await readFile(identityPath(dataDir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<ManagerIdentity>;
  if (
    typeof parsed.nodeId !== "string" ||
    typeof parsed.raftId !== "number" ||
    typeof parsed.clusterId !== "string"
  ) {
    throw new ShoalError(
      ManagerErrorCode.InvalidArgument,
      `"${identityPath(dataDir)}" is not a manager identity file`,
      {
        hint: "restore it from a backup, or remove the manager and join it again with an empty data dir",
      },
    );
  }
  return parsed as ManagerIdentity;
}

export async function writeTls(dataDir: string, tls: NodeTlsMaterial): Promise<void> {
  const dir = certsDir(dataDir);
  await writeAtomic(join(dir, "root.crt"), tls.rootCertPem, 0o644);
  await writeAtomic(join(dir, "node.key"), tls.keyPem, 0o600);
  await writeAtomic(join(dir, "node.crt"), tls.certPem, 0o644);
}

export async function readTls(dataDir: string): Promise<NodeTlsMaterial> {
  const dir = certsDir(dataDir);
  const [rootCertPem, keyPem, certPem] = await Promise.all(
    ["root.crt", "node.key", "node.crt"].map((f) => readFile(join(dir, f), "utf8")),
  );
  return { rootCertPem: rootCertPem as string, keyPem: keyPem as string, certPem: certPem as string };
}
