import { BaseErrorCode, ShoalError } from "./errors.js";

// Go's time.ParseDuration units, which Compose files and the Docker CLI use.
const DURATION_UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3, // µs (micro sign)
  "\u03bcs": 1e-3, // μs (Greek mu)
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

// Escapes, not the characters: one character above U+00FF makes V8 keep the whole source text
// of the file (of the daemon's bundle, megabytes) as two bytes per character.
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;

/**
 * Parses a Go-style duration ("1m30s", "1.5h", "300ms", "0") into milliseconds (fractional for
 * sub-millisecond values). Throws BASE_INVALID_DURATION naming the input.
 */
export function parseDurationMs(input: string): number {
  const s = input.trim();
  const fail = (why: string) =>
    new ShoalError(BaseErrorCode.InvalidDuration, `invalid duration "${input}": ${why}`, {
      hint: 'use a number with a unit, e.g. "10s", "1m30s", "500ms"',
    });
  if (s === "") throw fail("it is empty");
  let rest = s;
  let sign = 1;
  if (rest[0] === "-" || rest[0] === "+") {
    sign = rest[0] === "-" ? -1 : 1;
    rest = rest.slice(1);
  }
  // Go refuses a bare sign; without this check the loop below would read "-" as 0.
  if (rest === "") throw fail("it has no number");
  if (rest === "0") return 0;
  let totalMs = 0;
  DURATION_PART.lastIndex = 0;
  let pos = 0;
  while (pos < rest.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(rest);
    if (m === null) {
      throw fail(/^\d+(\.\d+)?$/.test(rest.slice(pos)) ? "missing unit" : `unexpected "${rest.slice(pos)}"`);
    }
    totalMs += Number(m[1]) * (DURATION_UNIT_MS[m[2] as string] as number);
    pos = DURATION_PART.lastIndex;
  }
  return sign * totalMs;
}

/** Formats milliseconds as Go does ("1m30s", "500ms", "0s"). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  if (rest < 1) return `${sign}${trimFloat(rest * 1000)}µs`;
  if (rest < 1000) return `${sign}${trimFloat(rest)}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  return `${sign}${h > 0 ? `${h}h` : ""}${h > 0 || m > 0 ? `${m}m` : ""}${trimFloat(s)}s`;
}

function trimFloat(n: number): string {
  return String(Number(n.toFixed(9)));
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * Parses a byte size as Docker's RAMInBytes does: binary units, case-insensitive, optional "b" /
 * "ib" ("512M", "1.5g", "128MiB", "1024", "2 GB"). Throws BASE_INVALID_BYTE_SIZE naming the input.
 */
export function parseBytes(input: string | number): number {
  if (typeof input === "number") {
    if (Number.isSafeInteger(input) && input >= 0) return input;
    throw new ShoalError(BaseErrorCode.InvalidByteSize, `invalid byte size ${input}: must be a whole number`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(input);
  if (m === null || (m[2] === "" && m[3] !== undefined && m[3].toLowerCase() === "ib")) {
    throw new ShoalError(BaseErrorCode.InvalidByteSize, `invalid byte size "${input}"`, {
      hint: 'use a number with an optional unit b, k, m, g, t or p, e.g. "512M" or "1.5g"',
    });
  }
  const unit = BYTE_UNITS[(m[2] as string).toLowerCase()] as number;
  const bytes = Math.floor(Number(m[1]) * unit);
  // Past 2^53 the number is no longer exact (and the wire's 64-bit fields refuse it).
  if (!Number.isSafeInteger(bytes)) {
    throw new ShoalError(
      BaseErrorCode.InvalidByteSize,
      `byte size "${input}" is larger than the ${formatBytes(Number.MAX_SAFE_INTEGER)} maximum`,
    );
  }
  return bytes;
}

/** Formats bytes with binary units as people read them: "512MiB", "1.5GiB", "100B". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${Number(value.toFixed(2))}${units[i]}`;
}
