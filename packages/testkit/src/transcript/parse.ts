import { ShoalError } from "@shoal/base";
import { TestkitErrorCode } from "../errors.js";

/** The line that separates a command (and its input) from its expected output. */
export const SEPARATOR = "----";

/** One command of a transcript with the output the file expects from it. */
export interface TranscriptBlock {
  /** 1-based line of the command in the file. */
  line: number;
  /** Comments and blank lines before the command, kept verbatim when the file is rewritten. */
  leading: string[];
  /** The command line as written: `name arg key=value key=(a,b)`. */
  directive: string;
  /** Lines between the command and the separator (free text for the command). */
  input: string[];
  /** Expected output lines; undefined when the file has no separator yet (rewrite mode fills it). */
  expected: string[] | undefined;
}

export interface ParsedTranscript {
  blocks: TranscriptBlock[];
  /** Comments and blank lines after the last block. */
  trailing: string[];
}

function syntax(file: string, line: number, message: string): ShoalError {
  return new ShoalError(TestkitErrorCode.TranscriptSyntax, `transcript ${file}:${line}: ${message}`, {
    details: { file, line },
  });
}

const isFiller = (l: string) => l.trim() === "" || l.trimStart().startsWith("#");

/**
 * Parses a transcript:
 *
 * ```
 * # comment
 * command arg key=value
 * optional input lines
 * ----
 * expected output, up to the next blank line
 *
 * other-command
 * ----
 * ----
 * output that may contain blank lines, up to a doubled separator
 *
 * ----
 * ----
 * ```
 */
export function parseTranscript(text: string, file: string): ParsedTranscript {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const blocks: TranscriptBlock[] = [];
  let i = 0;
  let leading: string[] = [];
  while (i < lines.length) {
    const l = lines[i] as string;
    if (isFiller(l)) {
      leading.push(l);
      i++;
      continue;
    }
    if (l === SEPARATOR) throw syntax(file, i + 1, `"${SEPARATOR}" without a command before it`);
    const line = i + 1;
    const directive = l;
    i++;
    const input: string[] = [];
    while (i < lines.length && lines[i] !== SEPARATOR && (lines[i] as string).trim() !== "") {
      input.push(lines[i] as string);
      i++;
    }
    let expected: string[] | undefined;
    if (lines[i] === SEPARATOR) {
      i++;
      expected = [];
      if (lines[i] === SEPARATOR) {
        // Doubled separator: the output ends at the next doubled separator and may hold blank lines.
        i++;
        for (;;) {
          if (i >= lines.length)
            throw syntax(file, line, `output opened with a doubled "${SEPARATOR}" is never closed`);
          if (lines[i] === SEPARATOR && lines[i + 1] === SEPARATOR) {
            i += 2;
            break;
          }
          expected.push(lines[i] as string);
          i++;
        }
      } else {
        while (i < lines.length && (lines[i] as string).trim() !== "") {
          expected.push(lines[i] as string);
          i++;
        }
      }
    }
    blocks.push({ line, leading, directive, input, expected });
    leading = [];
  }
  return { blocks, trailing: leading };
}

/** Writes a transcript back, each block with the given output. */
export function formatTranscript(parsed: ParsedTranscript, outputs: readonly string[][]): string {
  const out: string[] = [];
  parsed.blocks.forEach((b, n) => {
    const output = outputs[n] ?? b.expected ?? [];
    // The blank line that ended the previous block's output is already among this block's leading lines.
    out.push(...b.leading, b.directive, ...b.input, SEPARATOR);
    if (output.some((l) => l.trim() === "")) out.push(SEPARATOR, ...output, SEPARATOR, SEPARATOR);
    else out.push(...output);
  });
  out.push(...parsed.trailing);
  return `${out.join("\n")}\n`;
}
