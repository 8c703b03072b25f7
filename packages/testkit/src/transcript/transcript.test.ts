import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  formatTranscript,
  parseTranscript,
  runTranscript,
  type TranscriptHandler,
  tokenize,
} from "./index.js";

/** A fresh counter environment per run: the test owns the state, the runner only calls commands. */
function counter(): Record<string, TranscriptHandler> {
  let total = 0;
  return {
    add: ({ args }) => {
      for (const n of args.has("n") ? args.ints("n") : args.positionalInts("number")) total += n;
      return "";
    },
    show: () => `total ${total}`,
    // The input back, with a blank line between lines that were apart.
    echo: ({ input }) => input.join("\n\n"),
  };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function scratch(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "shoal-transcript-"));
  dirs.push(dir);
  const file = join(dir, "t.txt");
  await writeFile(file, text);
  return file;
}

describe("transcript runner", () => {
  it("runs a transcript whose outputs match", async () => {
    const file = fileURLToPath(new URL("testdata/counter.txt", import.meta.url));
    expect(await runTranscript(file, counter(), { rewrite: false })).toEqual({
      commands: 4,
      rewritten: false,
    });
  });

  it("parses and writes back a file unchanged (comments, blank lines, doubled separators)", async () => {
    const text = await readFile(fileURLToPath(new URL("testdata/counter.txt", import.meta.url)), "utf8");
    const parsed = parseTranscript(text, "counter.txt");
    expect(parsed.blocks.map((b) => [b.line, b.directive, b.input, b.expected])).toEqual([
      [3, "add 2", [], ["ok"]],
      [7, "add n=(3,4)", [], ["ok"]],
      [11, "show", [], ["total 9"]],
      [16, "echo", ["first", "second"], ["first", "", "second"]],
    ]);
    expect(formatTranscript(parsed, [])).toBe(text);
  });

  it("fails at the first difference with the place, a line diff and what to do", async () => {
    const file = await scratch("add 1\n----\nok\n\nshow\n----\ntotal 2\n\nshow\n----\nnever reached\n");
    const err = await runTranscript(file, counter(), { rewrite: false, displayName: "t.txt" }).catch(
      (e) => e,
    );
    expect(err.code).toBe("TESTKIT_TRANSCRIPT_MISMATCH");
    expect(err.message).toBe(
      [
        'transcript t.txt:5: output of "show" differs (- expected, + actual)',
        "- total 2",
        "+ total 1",
        "if the new output is right, run again with TRANSCRIPT_REWRITE=1 and review the file's diff",
      ].join("\n"),
    );
  });

  it("rewrite mode writes every output back, also for commands written without one", async () => {
    const file = await scratch("# sum\nadd 1 2\n----\nstale\n\nshow\n");
    expect(await runTranscript(file, counter(), { rewrite: true })).toEqual({ commands: 2, rewritten: true });
    expect(await readFile(file, "utf8")).toBe("# sum\nadd 1 2\n----\nok\n\nshow\n----\ntotal 3\n");
    // Now it passes as it stands, and rewriting again changes nothing.
    expect(await runTranscript(file, counter(), { rewrite: false })).toMatchObject({ commands: 2 });
    expect(await runTranscript(file, counter(), { rewrite: true })).toMatchObject({ rewritten: false });
  });

  it("names unknown commands, bad arguments and missing outputs with file and line", async () => {
    const bad = (text: string) =>
      scratch(text).then((f) =>
        runTranscript(f, counter(), { rewrite: false, displayName: "t.txt" }).catch((e) => e),
      );
    expect((await bad("\nfrobnicate 1\n----\nok\n")).message).toBe(
      'transcript t.txt:2: unknown command "frobnicate" (known: add, echo, show)',
    );
    const e = await bad("add x\n----\nok\n");
    expect([e.code, e.message]).toEqual([
      "TESTKIT_TRANSCRIPT_SYNTAX",
      'transcript t.txt:1: number "x" is not an integer',
    ]);
    expect((await bad("show\n")).message).toBe(
      'transcript t.txt:1: command "show" has no "----" and expected output',
    );
    expect((await bad("show\n----\n----\nnever closed\n")).message).toMatch(
      /t.txt:1: output opened with a doubled/,
    );
  });

  it("tokenizes quoted text and parenthesized lists as single arguments", () => {
    expect(tokenize('propose 1 "hello world" voters=(1, 2, 3) drop', "x")).toEqual([
      "propose",
      "1",
      '"hello world"',
      "voters=(1, 2, 3)",
      "drop",
    ]);
    expect(() => tokenize('say "unfinished', "x:1")).toThrow(
      'transcript x:1: unbalanced quote in "say "unfinished"',
    );
  });
});
