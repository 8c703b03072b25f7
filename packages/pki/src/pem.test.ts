import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodePem, encodePem } from "./pem.js";
import { loadX509 } from "./x509.js";

describe("encodePem / decodePem", () => {
  it("writes what @peculiar/x509 writes (64-character lines) plus the final newline, and reads it back", async () => {
    const x509 = await loadX509();
    for (const size of [0, 1, 47, 48, 49, 200]) {
      const der = randomBytes(size);
      const pem = encodePem(der, "SOME LABEL");
      expect(pem).toBe(`${x509.PemConverter.encode(new Uint8Array(der), "SOME LABEL")}\n`);
      expect(decodePem(pem, "SOME LABEL")?.equals(der)).toBe(true);
    }
  });

  it("reads the block with the given label, ignoring line lengths and CRLF, and nothing else", () => {
    const der = randomBytes(100);
    const b64 = der.toString("base64");
    const pem = `junk\r\n-----BEGIN A-----\r\nxx\r\n-----END A-----\r\n-----BEGIN B-----\r\n${b64.slice(0, 10)}\r\n${b64.slice(10)}\r\n-----END B-----\r\n`;
    expect(decodePem(pem, "B")?.equals(der)).toBe(true);
    expect(decodePem(pem, "C")).toBeUndefined();
    expect(decodePem("-----BEGIN B-----\nAAAA", "B")).toBeUndefined();
  });
});
