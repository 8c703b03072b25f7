import { readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { ShoalError } from "@shoal/base";
import { TestkitErrorCode } from "../errors.js";
import { TranscriptArgs, tokenize } from "./args.js";
import { lineDiff } from "./diff.js";
import { formatTranscript, parseTranscript } from "./parse.js";

/** What a command handler gets: its name, arguments and input lines, and where it was written. */
export interface TranscriptCommand {
  name: string;
  args: TranscriptArgs;
  /** The lines between the command and the separator. */
  input: string[];
  file: string;
  line: number;
}

/**
 * Runs one command and returns its output (a string with newlines, or lines). Empty output is
 * written as `ok`. Throwing fails the transcript at this command; handlers that want an error in
 * the transcript catch it and return it as output.
 */
export type TranscriptHandler = (
  cmd: TranscriptCommand,
) => string | string[] | undefined | Promise<string | string[] | undefined>;

export interface RunTranscriptOptions {
  /**
   * Write the actual outputs into the file instead of comparing them. Default: the environment
   * variable TRANSCRIPT_REWRITE is "1".
   */
  rewrite?: boolean;
  /** Shown in messages instead of the absolute path (default: relative to the working directory). */
  displayName?: string;
}

/** Environment variable that switches every runner into rewrite mode. */
export const TRANSCRIPT_REWRITE_ENV = "TRANSCRIPT_REWRITE";

export interface TranscriptRun {
  /** Commands run. */
  commands: number;
  /** True when the file was rewritten with new outputs (rewrite mode and something changed). */
  rewritten: boolean;
}

function normalize(output: string | string[] | undefined): string[] {
  const lines = (Array.isArray(output) ? output : (output ?? "").split("\n")).flatMap((l) => l.split("\n"));
  const trimmed = lines.map((l) => l.trimEnd());
  while (trimmed.length > 0 && trimmed.at(-1) === "") trimmed.pop();
  while (trimmed.length > 0 && trimmed[0] === "") trimmed.shift();
  return trimmed.length === 0 ? ["ok"] : trimmed;
}

/**
 * Runs the transcript in `file` against `commands` (registered by the test: one handler per
 * command name, sharing whatever state the test gives them). Each command's output is compared
 * with the expected output in the file; the first difference fails with
 * TESTKIT_TRANSCRIPT_MISMATCH and a line diff. Later commands depend on earlier state, so the run
 * stops there. In rewrite mode every output is written back into the file instead.
 */
export async function runTranscript(
  file: string,
  commands: Readonly<Record<string, TranscriptHandler>>,
  options: RunTranscriptOptions = {},
): Promise<TranscriptRun> {
  const rewrite = options.rewrite ?? process.env[TRANSCRIPT_REWRITE_ENV] === "1";
  const name = options.displayName ?? relative(process.cwd(), file);
  const text = await readFile(file, "utf8");
  const parsed = parseTranscript(text, name);
  const outputs: string[][] = [];
  for (const block of parsed.blocks) {
    const where = `${name}:${block.line}`;
    const [command, ...rest] = tokenize(block.directive, where);
    const handler = command === undefined ? undefined : commands[command];
    if (command === undefined || handler === undefined) {
      throw new ShoalError(
        TestkitErrorCode.TranscriptSyntax,
        `transcript ${where}: unknown command "${command}" (known: ${Object.keys(commands).sort().join(", ")})`,
      );
    }
    let actual: string[];
    try {
      actual = normalize(
        await handler({
          name: command,
          args: new TranscriptArgs(rest, where),
          input: block.input,
          file,
          line: block.line,
        }),
      );
    } catch (err) {
      if (ShoalError.is(err, TestkitErrorCode.TranscriptSyntax)) throw err;
      throw new ShoalError(
        TestkitErrorCode.TranscriptMismatch,
        `transcript ${where}: command "${block.directive}" threw: ${(err as Error).message}`,
        { cause: err },
      );
    }
    outputs.push(actual);
    if (rewrite) continue;
    const expected = block.expected;
    if (expected === undefined) {
      throw new ShoalError(
        TestkitErrorCode.TranscriptSyntax,
        `transcript ${where}: command "${block.directive}" has no "----" and expected output`,
        { hint: `run with ${TRANSCRIPT_REWRITE_ENV}=1 to write its output into the file` },
      );
    }
    if (expected.join("\n") !== actual.join("\n")) {
      throw new ShoalError(
        TestkitErrorCode.TranscriptMismatch,
        [
          `transcript ${where}: output of "${block.directive}" differs (- expected, + actual)`,
          ...lineDiff(expected, actual),
          `if the new output is right, run again with ${TRANSCRIPT_REWRITE_ENV}=1 and review the file's diff`,
        ].join("\n"),
        { details: { file, line: block.line, expected, actual } },
      );
    }
  }
  let rewritten = false;
  if (rewrite) {
    const next = formatTranscript(parsed, outputs);
    if (next !== text) {
      await writeFile(file, next);
      rewritten = true;
    }
  }
  return { commands: parsed.blocks.length, rewritten };
}

/** The `*.txt` transcripts in `dir`, sorted, as absolute paths (for `it.each`). */
export function transcriptFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort()
    .map((f) => join(dir, f));
}
