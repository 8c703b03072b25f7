/**
 * One PEM block (RFC 7468): base64 in 64-character lines between BEGIN and END lines, ending in a
 * newline as PEM files do (a bundle made by concatenating two blocks keeps them apart).
 */
export function encodePem(der: Uint8Array | ArrayBuffer, label: string): string {
  const base64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `${[`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`].join("\n")}\n`;
}

/**
 * The bytes of the first PEM block labelled `label` in `pem`, or undefined if there is none.
 * Whitespace inside the base64 (line breaks of any length, CRLF) is ignored.
 */
export function decodePem(pem: string, label: string): Buffer | undefined {
  const begin = `-----BEGIN ${label}-----`;
  const start = pem.indexOf(begin);
  if (start < 0) return undefined;
  const end = pem.indexOf(`-----END ${label}-----`, start + begin.length);
  if (end < 0) return undefined;
  return Buffer.from(pem.slice(start + begin.length, end).replace(/\s+/g, ""), "base64");
}
