import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { link, mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ShoalError } from "@shoal/base";
import { PkiErrorCode } from "./errors.js";
import { decodePem, encodePem } from "./pem.js";

/** Where a manager keeps its key-encryption key, under its data dir. */
export const KEK_RELATIVE_PATH = join("certs", "root-ca.kek");
export const KEK_BYTES = 32;
const KEK_FILE_PREFIX = "shoal-kek-1:";
const SEALED_PEM_LABEL = "SHOAL ENCRYPTED PRIVATE KEY";
/** Envelope: magic (4) | KEK id (8) | IV (12) | ciphertext | GCM tag (16). */
const ENVELOPE_MAGIC = Buffer.from("SEK1", "ascii");
const KEK_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function kekPath(dataDir: string): string {
  return join(dataDir, KEK_RELATIVE_PATH);
}

/**
 * The AES-256 key that seals the root CA key before it goes into the Raft state. It lives in a
 * file of the manager's data dir (mode 0600) and never in the WAL or a snapshot, so a copied WAL
 * alone does not give away the CA key. Every manager needs the same file; a joining manager
 * receives it along with its certificate.
 */
export class KeyEncryptionKey {
  /** A short fingerprint (not the key) recorded in every envelope, so a wrong key is named as such. */
  readonly id: string;
  private readonly key: Buffer;
  readonly path: string | undefined;

  private constructor(key: Buffer, path: string | undefined) {
    this.key = key;
    this.path = path;
    this.id = kekIdOf(key).toString("hex");
  }

  /** From raw bytes (e.g. as sent to a joining manager). */
  static fromBytes(bytes: Uint8Array): KeyEncryptionKey {
    if (bytes.length !== KEK_BYTES) {
      throw new ShoalError(
        PkiErrorCode.KekUnavailable,
        `key-encryption key is ${bytes.length} bytes, expected ${KEK_BYTES}`,
      );
    }
    return new KeyEncryptionKey(Buffer.from(bytes), undefined);
  }

  /** Opens the key file, which must exist (a manager that lost it cannot read the CA key). */
  static async open(path: string): Promise<KeyEncryptionKey> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ShoalError(
        PkiErrorCode.KekUnavailable,
        code === "ENOENT"
          ? `key-encryption key file "${path}" does not exist`
          : `key-encryption key file "${path}" cannot be read (${code ?? "error"})`,
        {
          cause: err,
          hint: "restore the file from a backup of this manager's data dir, or copy it from another manager",
        },
      );
    }
    // As ssh does with its keys: a key others can read is no longer a secret, so refuse loudly.
    if ((info.mode & 0o077) !== 0) {
      throw new ShoalError(
        PkiErrorCode.KekUnavailable,
        `key-encryption key file "${path}" has mode ${(info.mode & 0o777).toString(8).padStart(4, "0")}, expected 0600`,
        { hint: `run: chmod 600 ${path}` },
      );
    }
    const text = (await readFile(path, "utf8")).trim();
    if (!text.startsWith(KEK_FILE_PREFIX)) {
      throw new ShoalError(
        PkiErrorCode.KekUnavailable,
        `key-encryption key file "${path}" does not start with "${KEK_FILE_PREFIX}"`,
      );
    }
    const bytes = Buffer.from(text.slice(KEK_FILE_PREFIX.length), "base64");
    if (bytes.length !== KEK_BYTES) {
      throw new ShoalError(
        PkiErrorCode.KekUnavailable,
        `key-encryption key file "${path}" holds ${bytes.length} bytes, expected ${KEK_BYTES}`,
      );
    }
    return new KeyEncryptionKey(bytes, path);
  }

  /**
   * Opens the key file, creating it (0600, parent 0700) with a fresh random key when absent. Used at
   * cluster init and when a joining manager stores the key it was given (`writeTo`).
   */
  static async openOrCreate(path: string): Promise<KeyEncryptionKey> {
    try {
      return await KeyEncryptionKey.open(path);
    } catch (err) {
      if (!ShoalError.is(err, PkiErrorCode.KekUnavailable) || !isMissing(err)) throw err;
    }
    const created = new KeyEncryptionKey(randomBytes(KEK_BYTES), path);
    if (await created.writeTo(path)) return created;
    // Lost a race with another opener: theirs is on disk, so theirs is the key.
    return KeyEncryptionKey.open(path);
  }

  /**
   * Writes the key to a new file (never over an existing one); false when the file already exists.
   * The key is written and fsynced under a temporary name and then hard-linked into place, which
   * fails if the name exists: a crash leaves either no key file or a whole one, never an empty one
   * that would stop the manager from starting. The directory is fsynced before the key is used.
   */
  async writeTo(path: string): Promise<boolean> {
    const dir = dirname(path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmpPath = `${path}.tmp-${randomBytes(6).toString("hex")}`;
    const handle = await open(
      tmpPath,
      fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL,
      0o600,
    );
    try {
      await handle.writeFile(`${KEK_FILE_PREFIX}${this.key.toString("base64")}\n`, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    let linked = true;
    try {
      await link(tmpPath, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      linked = false;
    } finally {
      await unlink(tmpPath);
    }
    const dirHandle = await open(dir, "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    return linked;
  }

  /** What a log line shows: the fingerprint and the file, never the key. */
  toJSON(): { id: string; path: string | undefined } {
    return { id: this.id, path: this.path };
  }

  /** The raw key, for handing to a joining manager over mTLS. Never log it. */
  exportBytes(): Buffer {
    return Buffer.from(this.key);
  }

  /**
   * Seals a private key PEM with AES-256-GCM. `purpose` is authenticated too, so an envelope made
   * for one use cannot be passed off as another.
   */
  sealPrivateKeyPem(keyPem: string, purpose: string): string {
    const iv = randomBytes(IV_BYTES);
    const header = Buffer.concat([ENVELOPE_MAGIC, kekIdOf(this.key)]);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.concat([header, Buffer.from(purpose, "utf8")]));
    const body = Buffer.concat([cipher.update(keyPem, "utf8"), cipher.final()]);
    const envelope = Buffer.concat([header, iv, body, cipher.getAuthTag()]);
    return encodePem(envelope, SEALED_PEM_LABEL);
  }

  /** Opens an envelope from `sealPrivateKeyPem`; `what` names the key in messages ("root CA key"). */
  openPrivateKeyPem(sealedPem: string, purpose: string, what: string): string {
    const envelope = decodeSealedPem(sealedPem, what);
    const kekId = envelope.subarray(ENVELOPE_MAGIC.length, ENVELOPE_MAGIC.length + KEK_ID_BYTES);
    if (!kekId.equals(kekIdOf(this.key))) {
      throw new ShoalError(
        PkiErrorCode.KeyDecryptFailed,
        `${what} was sealed with key-encryption key "${kekId.toString("hex")}", but ${this.describe()} is "${this.id}"`,
        { hint: "this data dir's key file is not the one the cluster's CA key was sealed with; restore it" },
      );
    }
    const headerEnd = ENVELOPE_MAGIC.length + KEK_ID_BYTES;
    const iv = envelope.subarray(headerEnd, headerEnd + IV_BYTES);
    const body = envelope.subarray(headerEnd + IV_BYTES, envelope.length - TAG_BYTES);
    const tag = envelope.subarray(envelope.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, iv);
      decipher.setAAD(Buffer.concat([envelope.subarray(0, headerEnd), Buffer.from(purpose, "utf8")]));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
    } catch (err) {
      throw new ShoalError(
        PkiErrorCode.KeyDecryptFailed,
        `${what} failed authentication: it is damaged or was sealed for another purpose than "${purpose}"`,
        { cause: err },
      );
    }
  }

  private describe(): string {
    return this.path === undefined ? "the given key-encryption key" : `the key in "${this.path}"`;
  }
}

function decodeSealedPem(sealedPem: string, what: string): Buffer {
  if (typeof sealedPem !== "string" || !sealedPem.includes(`-----BEGIN ${SEALED_PEM_LABEL}-----`)) {
    throw new ShoalError(
      PkiErrorCode.InvalidPem,
      `${what} is not a PEM "${SEALED_PEM_LABEL}"; it may be stored unencrypted or damaged`,
    );
  }
  const envelope = decodePem(sealedPem, SEALED_PEM_LABEL) ?? Buffer.alloc(0);
  const minLength = ENVELOPE_MAGIC.length + KEK_ID_BYTES + IV_BYTES + TAG_BYTES + 1;
  if (envelope.length < minLength || !envelope.subarray(0, ENVELOPE_MAGIC.length).equals(ENVELOPE_MAGIC)) {
    throw new ShoalError(
      PkiErrorCode.KeyDecryptFailed,
      `${what} envelope is truncated or of an unknown version`,
    );
  }
  return envelope;
}

function kekIdOf(key: Buffer): Buffer {
  return createHash("sha256").update("shoal-kek-id\0").update(key).digest().subarray(0, KEK_ID_BYTES);
}

function isMissing(err: ShoalError): boolean {
  return (err.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
