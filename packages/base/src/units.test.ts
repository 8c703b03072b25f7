import { describe, expect, it } from "vitest";
import { ShoalError } from "./errors.js";
import { formatBytes, formatDurationMs, parseBytes, parseDurationMs } from "./units.js";

describe("parseDurationMs", () => {
  it.each([
    ["0", 0],
    ["10s", 10_000],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["300ms", 300],
    ["1h2m3s4ms", 3_723_004],
    ["500us", 0.5],
    ["1000ns", 0.001],
    ["-2s", -2000],
    [" 5s ", 5000],
  ])("%s → %d ms", (input, ms) => {
    expect(parseDurationMs(input)).toBeCloseTo(ms, 9);
  });

  it.each([
    ["", 'invalid duration "": it is empty'],
    ["10", 'invalid duration "10": missing unit'],
    ["1x", 'invalid duration "1x": unexpected "1x"'],
    ["5s3", 'invalid duration "5s3": missing unit'],
    ["three", 'invalid duration "three": unexpected "three"'],
    ["-", 'invalid duration "-": it has no number'],
    [" + ", 'invalid duration " + ": it has no number'],
  ])("rejects %j", (input, message) => {
    const err = (() => {
      try {
        parseDurationMs(input);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ShoalError);
    expect((err as ShoalError).code).toBe("BASE_INVALID_DURATION");
    expect((err as ShoalError).message).toBe(message);
  });

  it("formats back as Go does", () => {
    expect(formatDurationMs(90_000)).toBe("1m30s");
    expect(formatDurationMs(500)).toBe("500ms");
    expect(formatDurationMs(0)).toBe("0s");
    expect(formatDurationMs(3_600_000)).toBe("1h0m0s");
    expect(formatDurationMs(1500)).toBe("1.5s");
  });
});

describe("parseBytes", () => {
  it.each([
    ["512M", 512 * 1024 ** 2],
    ["1.5g", 1.5 * 1024 ** 3],
    ["128MiB", 128 * 1024 ** 2],
    ["1024", 1024],
    ["2 GB", 2 * 1024 ** 3],
    ["64k", 65536],
    ["10b", 10],
    [4096, 4096],
  ] as const)("%s → %d", (input, bytes) => {
    expect(parseBytes(input)).toBe(bytes);
  });

  it.each(["", "12x", "-1M", "1.2.3g", "M"])("rejects %j with a hint", (input) => {
    expect(() => parseBytes(input)).toThrow(`invalid byte size "${input}"`);
  });

  it("refuses sizes past 2^53 bytes, which numbers cannot hold exactly", () => {
    expect(() => parseBytes("9000p")).toThrow('byte size "9000p" is larger than the 8PiB maximum');
    expect(() => parseBytes(2 ** 60)).toThrow("must be a whole number");
  });

  it("formats with binary units", () => {
    expect(formatBytes(512 * 1024 ** 2)).toBe("512MiB");
    expect(formatBytes(1.5 * 1024 ** 3)).toBe("1.5GiB");
    expect(formatBytes(100)).toBe("100B");
  });
});
