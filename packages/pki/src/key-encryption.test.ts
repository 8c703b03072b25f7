import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PkiErrorCode } from "./errors.js";
import { KeyEncryptionKey, kekPath } from "./key-encryption.js";
import { RootCa } from "./root-ca.js";
import { sealRootCa, unsealRootCa } from "./sealed-root-ca.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-pki-kek-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("KeyEncryptionKey file", () => {
  it("is created 0600 (in a 0700 directory) on first use and read back the same afterwards", async () => {
    const path = kekPath(join(dir, "data"));
    const first = await KeyEncryptionKey.openOrCreate(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "data", "certs"))).mode & 0o777).toBe(0o700);
    const again = await KeyEncryptionKey.openOrCreate(path);
    expect(again.id).toBe(first.id);
    expect((await KeyEncryptionKey.open(path)).id).toBe(first.id);
  });

  it("refuses a missing file when it must exist", async () => {
    const path = join(dir, "missing.kek");
    await expect(KeyEncryptionKey.open(path)).rejects.toMatchObject({
      code: PkiErrorCode.KekUnavailable,
      message: `key-encryption key file "${path}" does not exist`,
    });
  });

  it("refuses a file others can read", async () => {
    const path = join(dir, "k.kek");
    await KeyEncryptionKey.openOrCreate(path);
    await chmod(path, 0o644);
    await expect(KeyEncryptionKey.open(path)).rejects.toMatchObject({
      code: PkiErrorCode.KekUnavailable,
      message: `key-encryption key file "${path}" has mode 0644, expected 0600`,
    });
  });

  it("refuses a file that is not a key file", async () => {
    const path = join(dir, "k.kek");
    await writeFile(path, "hello\n", { mode: 0o600 });
    await expect(KeyEncryptionKey.openOrCreate(path)).rejects.toMatchObject({
      code: PkiErrorCode.KekUnavailable,
      message: expect.stringContaining('does not start with "shoal-kek-1:"'),
    });
  });
});

describe("sealed root CA", () => {
  it("round-trips, and the sealed form carries no plaintext key", async () => {
    const kek = await KeyEncryptionKey.openOrCreate(join(dir, "k.kek"));
    const root = await RootCa.create({ clusterId: "c1", nowMs: Date.UTC(2026, 0, 1) });
    const sealed = sealRootCa(root, kek);
    expect(sealed.caKeySealedPem).toContain("-----BEGIN SHOAL ENCRYPTED PRIVATE KEY-----");
    expect(sealed.caKeySealedPem).not.toContain("PRIVATE KEY-----\nMI");
    const keyBody = root.exportKeyPem().split("\n")[1] ?? "";
    expect(JSON.stringify(sealed)).not.toContain(keyBody);
    expect(sealed.caCertHash).toBe(root.digest);
    const opened = await unsealRootCa(sealed, kek);
    expect(opened.digest).toBe(root.digest);
    expect(opened.exportKeyPem()).toBe(root.exportKeyPem());
  });

  it("refuses a different key-encryption key, naming both fingerprints", async () => {
    const right = await KeyEncryptionKey.openOrCreate(join(dir, "right.kek"));
    const wrong = await KeyEncryptionKey.openOrCreate(join(dir, "wrong.kek"));
    const sealed = sealRootCa(await RootCa.create({ clusterId: "c1", nowMs: 0 }), right);
    await expect(unsealRootCa(sealed, wrong)).rejects.toMatchObject({
      code: PkiErrorCode.KeyDecryptFailed,
      message: `root CA key was sealed with key-encryption key "${right.id}", but the key in "${join(dir, "wrong.kek")}" is "${wrong.id}"`,
    });
  });

  it("refuses a damaged envelope", async () => {
    const kek = await KeyEncryptionKey.openOrCreate(join(dir, "k.kek"));
    const sealed = sealRootCa(await RootCa.create({ clusterId: "c1", nowMs: 0 }), kek);
    const lines = sealed.caKeySealedPem.split("\n");
    const body = lines[2] ?? "";
    lines[2] = (body[0] === "A" ? "B" : "A") + body.slice(1);
    const damaged = { ...sealed, caKeySealedPem: lines.join("\n") };
    await expect(unsealRootCa(damaged, kek)).rejects.toMatchObject({ code: PkiErrorCode.KeyDecryptFailed });
  });

  it("refuses a plaintext key stored where a sealed one belongs", async () => {
    const kek = await KeyEncryptionKey.openOrCreate(join(dir, "k.kek"));
    const root = await RootCa.create({ clusterId: "c1", nowMs: 0 });
    const plain = { caCertPem: root.certPem, caKeySealedPem: root.exportKeyPem(), caCertHash: root.digest };
    await expect(unsealRootCa(plain, kek)).rejects.toMatchObject({
      code: PkiErrorCode.InvalidPem,
      message: expect.stringContaining("root CA key is not a PEM"),
    });
  });

  it("keeps the key file's bytes out of the sealed form", async () => {
    const path = join(dir, "k.kek");
    const kek = await KeyEncryptionKey.openOrCreate(path);
    const fileText = (await readFile(path, "utf8")).trim().split(":")[1] ?? "";
    const sealed = sealRootCa(await RootCa.create({ clusterId: "c1", nowMs: 0 }), kek);
    expect(JSON.stringify(sealed)).not.toContain(fileText);
  });
});

describe("KeyEncryptionKey.writeTo", () => {
  it("never replaces an existing key file and leaves no temporary file behind", async () => {
    const path = join(dir, "certs", "root-ca.kek");
    const first = await KeyEncryptionKey.openOrCreate(path);
    const other = KeyEncryptionKey.fromBytes(new Uint8Array(32).fill(1));
    expect(await other.writeTo(path)).toBe(false);
    expect((await KeyEncryptionKey.open(path)).id).toBe(first.id);
    expect(await readdir(join(dir, "certs"))).toEqual(["root-ca.kek"]);
  });

  it("lets concurrent first openers agree on one key", async () => {
    const path = join(dir, "race.kek");
    const keys = await Promise.all(Array.from({ length: 8 }, () => KeyEncryptionKey.openOrCreate(path)));
    expect(new Set(keys.map((k) => k.id)).size).toBe(1);
  });

  it("hands a joining manager the same key through bytes", async () => {
    const original = await KeyEncryptionKey.openOrCreate(join(dir, "a.kek"));
    const copy = KeyEncryptionKey.fromBytes(original.exportBytes());
    expect(await copy.writeTo(join(dir, "b.kek"))).toBe(true);
    expect((await KeyEncryptionKey.open(join(dir, "b.kek"))).id).toBe(original.id);
    expect(() => KeyEncryptionKey.fromBytes(new Uint8Array(16))).toThrow(
      expect.objectContaining({
        code: PkiErrorCode.KekUnavailable,
        message: "key-encryption key is 16 bytes, expected 32",
      }),
    );
  });
});
