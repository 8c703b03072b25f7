import { ShoalError } from "@shoal/base";
import { ImageErrorCode } from "./errors.js";

// Just enough of ustar/pax/GNU tar to read layer headers and write the few entries the whiteout
// rewrite emits. Data is never copied here; the rewriter streams it through.

export const BLOCK = 512;

export const TarType = {
  File: "0",
  OldFile: "\0",
  HardLink: "1",
  Symlink: "2",
  CharDevice: "3",
  BlockDevice: "4",
  Directory: "5",
  Fifo: "6",
  Contiguous: "7",
  PaxHeader: "x",
  PaxGlobal: "g",
  GnuLongName: "L",
  GnuLongLink: "K",
} as const;

export interface TarHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

function readString(block: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && block[end] !== 0) end++;
  return Buffer.from(block.buffer, block.byteOffset + offset, end - offset).toString("utf8");
}

function readNumber(block: Uint8Array, offset: number, length: number): number {
  // GNU base-256: high bit of the first byte set; used for sizes ≥ 8 GiB and large ids.
  if ((block[offset] ?? 0) & 0x80) {
    let value = (block[offset] ?? 0) & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + (block[offset + i] ?? 0);
    return value;
  }
  const text = readString(block, offset, length).trim();
  if (text === "") return 0;
  const value = Number.parseInt(text, 8);
  if (Number.isNaN(value)) {
    throw new ShoalError(ImageErrorCode.InvalidLayer, `tar header field "${text}" is not an octal number`);
  }
  return value;
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function checksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  return sum;
}

export function parseHeader(block: Uint8Array): TarHeader {
  const stored = readNumber(block, 148, 8);
  if (stored !== checksum(block)) {
    throw new ShoalError(
      ImageErrorCode.InvalidLayer,
      "tar header checksum does not match: the layer is corrupt",
    );
  }
  let name = readString(block, 0, 100);
  const magic = readString(block, 257, 6);
  if (magic.startsWith("ustar")) {
    const prefix = readString(block, 345, 155);
    if (prefix !== "" && magic === "ustar") name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: readNumber(block, 100, 8),
    uid: readNumber(block, 108, 8),
    gid: readNumber(block, 116, 8),
    size: readNumber(block, 124, 12),
    mtime: readNumber(block, 136, 12),
    type: String.fromCharCode(block[156] ?? 0),
    linkname: readString(block, 157, 100),
    devmajor: readNumber(block, 329, 8),
    devminor: readNumber(block, 337, 8),
  };
}

/** Parses pax records ("len key=value\n"). */
export function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const length = Number.parseInt(data.toString("utf8", pos, space), 10);
    if (!Number.isFinite(length) || length <= 0 || pos + length > data.length) {
      throw new ShoalError(ImageErrorCode.InvalidLayer, "tar pax header record is malformed");
    }
    const record = data.toString("utf8", space + 1, pos + length - 1);
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return records;
}

function writeString(block: Buffer, value: string, offset: number, length: number): void {
  block.write(value, offset, length, "utf8");
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  block.write(`${value.toString(8).padStart(length - 1, "0")}\0`, offset, length, "ascii");
}

export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** One ustar header block; fields that do not fit must go into a pax header (see encodeEntry). */
function encodeUstar(header: TarHeader): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, header.name, 0, 100);
  writeOctal(block, header.mode & 0o7777, 100, 8);
  writeOctal(block, header.uid, 108, 8);
  writeOctal(block, header.gid, 116, 8);
  writeOctal(block, header.size, 124, 12);
  writeOctal(block, header.mtime, 136, 12);
  block.write(header.type, 156, 1, "ascii");
  writeString(block, header.linkname, 157, 100);
  block.write("ustar\x0000", 257, 8, "ascii");
  writeOctal(block, header.devmajor, 329, 8);
  writeOctal(block, header.devminor, 337, 8);
  writeOctal(block, checksum(block), 148, 7);
  block[155] = 0x20;
  return block;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  return `${length}${body}`;
}

/** Header blocks for an entry without data, with a pax header for long names and extra records. */
export function encodeEntry(header: TarHeader, paxRecords: Map<string, string> = new Map()): Buffer {
  const records = new Map(paxRecords);
  const ustar = { ...header };
  if (Buffer.byteLength(header.name) > 99) {
    records.set("path", header.name);
    ustar.name = header.name.slice(0, 99);
  }
  if (Buffer.byteLength(header.linkname) > 99) {
    records.set("linkpath", header.linkname);
    ustar.linkname = header.linkname.slice(0, 99);
  }
  for (const key of ["uid", "gid"] as const) {
    if (header[key] > 0o7777777) {
      records.set(key, String(header[key]));
      ustar[key] = 0;
    }
  }
  const parts: Buffer[] = [];
  if (records.size > 0) {
    const data = Buffer.from([...records].map(([k, v]) => paxRecord(k, v)).join(""), "utf8");
    parts.push(
      encodeUstar({
        name: "PaxHeader",
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: data.length,
        mtime: header.mtime,
        type: TarType.PaxHeader,
        linkname: "",
        devmajor: 0,
        devminor: 0,
      }),
      data,
      Buffer.alloc(paddingFor(data.length)),
    );
  }
  parts.push(encodeUstar(ustar));
  return Buffer.concat(parts);
}
