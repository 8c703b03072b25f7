import type { KeyEncryptionKey } from "./key-encryption.js";
import { RootCa } from "./root-ca.js";

/** Authenticated with the ciphertext, so a sealed node key cannot be passed off as the CA's. */
export const ROOT_CA_KEY_PURPOSE = "shoal root ca key";

/**
 * The root CA as the manager stores it in the Raft state (the Cluster object's `rootCa`): the
 * certificate in the clear, the key sealed with the data dir's key-encryption key.
 */
export interface SealedRootCa {
  caCertPem: string;
  caKeySealedPem: string;
  /** The root digest, as in join tokens (`rootDigestOf(caCertPem)`). */
  caCertHash: string;
}

export function sealRootCa(root: RootCa, kek: KeyEncryptionKey): SealedRootCa {
  return {
    caCertPem: root.certPem,
    caKeySealedPem: kek.sealPrivateKeyPem(root.exportKeyPem(), ROOT_CA_KEY_PURPOSE),
    caCertHash: root.digest,
  };
}

/** Throws PKI_KEY_DECRYPT_FAILED for a wrong or damaged key, PKI_KEY_MISMATCH for a swapped one. */
export async function unsealRootCa(sealed: SealedRootCa, kek: KeyEncryptionKey): Promise<RootCa> {
  const keyPem = kek.openPrivateKeyPem(sealed.caKeySealedPem, ROOT_CA_KEY_PURPOSE, "root CA key");
  return RootCa.fromPem(sealed.caCertPem, keyPem);
}
