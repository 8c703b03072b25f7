import { describe, expect, it } from "vitest";
import { formatLogEntry, LogLineAssembler, logTimeMs, parseLogLine, parseLogText } from "./log-format.js";

describe("k8s-file log format", () => {
  it("parses a record, keeping spaces in the text", () => {
    expect(parseLogLine("2026-11-27T23:50:52.980331624+00:00 stdout F line  0 ")).toEqual({
      time: "2026-11-27T23:50:52.980331624+00:00",
      stream: "stdout",
      partial: false,
      text: "line  0 ",
    });
    expect(parseLogLine("2026-11-27T23:50:52.980331624+00:00 stderr F ")).toMatchObject({
      text: "",
      stream: "stderr",
    });
    expect(parseLogLine("garbage")).toBeUndefined();
  });

  it("reads nanosecond timestamps with offsets", () => {
    expect(logTimeMs("2026-11-27T23:50:52.980331624+00:00")).toBe(Date.parse("2026-11-27T23:50:52.980Z"));
    expect(logTimeMs("2026-11-27T23:50:52+01:00")).toBe(Date.parse("2026-11-27T22:50:52Z"));
  });

  it("joins partial records per stream", () => {
    const text = [
      "2026-01-01T00:00:00.1Z stdout P hel",
      "2026-01-01T00:00:00.2Z stderr F err",
      "2026-01-01T00:00:00.3Z stdout F lo",
      "",
    ].join("\n");
    const entries = parseLogText(text);
    expect(entries.map((e) => [e.stream, e.log, e.time])).toEqual([
      ["stderr", "err", "2026-01-01T00:00:00.2Z"],
      ["stdout", "hello", "2026-01-01T00:00:00.1Z"],
    ]);
    expect(formatLogEntry(entries[1] as never)).toBe(
      '{"time":"2026-01-01T00:00:00.1Z","stream":"stdout","log":"hello"}',
    );
  });

  it("flushes a line the container never finished", () => {
    const a = new LogLineAssembler();
    expect(
      a.push({ time: "2026-01-01T00:00:00Z", stream: "stdout", partial: true, text: "x" }),
    ).toBeUndefined();
    expect(a.flush().map((e) => e.log)).toEqual(["x"]);
  });
});
