import { ShoalError } from "@shoal/base";
import { TestkitErrorCode } from "../errors.js";

/**
 * The arguments of one transcript command: `name pos1 pos2 key=value key=(a,b) "quoted text"`.
 * Accessors throw TESTKIT_TRANSCRIPT_SYNTAX naming the file, line and argument.
 */
export class TranscriptArgs {
  /** Arguments without `=`, in order. */
  readonly positional: string[] = [];
  /** `key=value` arguments; `key=(a,b)` gives several values. */
  readonly named = new Map<string, string[]>();

  constructor(
    tokens: string[],
    private readonly where: string,
  ) {
    for (const t of tokens) {
      const eq = t.indexOf("=");
      if (eq <= 0 || t.startsWith('"')) {
        this.positional.push(unquote(t));
        continue;
      }
      const key = t.slice(0, eq);
      const raw = t.slice(eq + 1);
      const values =
        raw.startsWith("(") && raw.endsWith(")")
          ? raw
              .slice(1, -1)
              .split(",")
              .map((v) => unquote(v.trim()))
              .filter((v) => v !== "")
          : [unquote(raw)];
      this.named.set(key, values);
    }
  }

  has(key: string): boolean {
    return this.named.has(key);
  }

  /** The single value of `key`, or `fallback` when absent (an error when there is no fallback). */
  string(key: string, fallback?: string): string {
    const v = this.named.get(key);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw this.error(`missing argument ${key}=…`);
    }
    if (v.length !== 1) throw this.error(`argument ${key} takes one value, got ${v.length}`);
    return v[0] as string;
  }

  int(key: string, fallback?: number): number {
    if (!this.named.has(key) && fallback !== undefined) return fallback;
    return this.toInt(key, this.string(key));
  }

  /** Every value of `key` (`key=(1,2,3)` or `key=1`); `fallback` when absent. */
  list(key: string, fallback?: string[]): string[] {
    const v = this.named.get(key);
    if (v !== undefined) return v;
    if (fallback !== undefined) return fallback;
    throw this.error(`missing argument ${key}=(…)`);
  }

  ints(key: string, fallback?: number[]): number[] {
    if (!this.named.has(key) && fallback !== undefined) return fallback;
    return this.list(key).map((v) => this.toInt(key, v));
  }

  bool(key: string, fallback: boolean): boolean {
    if (!this.named.has(key)) return fallback;
    const v = this.string(key);
    if (v === "true") return true;
    if (v === "false") return false;
    throw this.error(`argument ${key}=${v} must be true or false`);
  }

  /** Positional argument `i` (0-based). */
  at(i: number, what: string): string {
    const v = this.positional[i];
    if (v === undefined) throw this.error(`missing ${what} (positional argument ${i + 1})`);
    return v;
  }

  atInt(i: number, what: string): number {
    return this.toInt(what, this.at(i, what));
  }

  /** Every positional argument as an integer (e.g. a list of node ids). */
  positionalInts(what: string): number[] {
    return this.positional.map((v) => this.toInt(what, v));
  }

  error(message: string): ShoalError {
    return new ShoalError(TestkitErrorCode.TranscriptSyntax, `transcript ${this.where}: ${message}`);
  }

  private toInt(what: string, v: string): number {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw this.error(`${what} "${v}" is not an integer`);
    return n;
  }
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** Splits a command line on spaces, keeping `"quoted text"` and `key=(a, b)` together. */
export function tokenize(line: string, where: string): string[] {
  const tokens: string[] = [];
  let cur = "";
  let quote = false;
  let depth = 0;
  for (const ch of line) {
    if (ch === '"') quote = !quote;
    else if (!quote && ch === "(") depth++;
    else if (!quote && ch === ")") depth--;
    if (!quote && depth === 0 && /\s/.test(ch)) {
      if (cur !== "") tokens.push(cur);
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (quote || depth !== 0) {
    throw new ShoalError(
      TestkitErrorCode.TranscriptSyntax,
      `transcript ${where}: unbalanced ${quote ? "quote" : "parenthesis"} in "${line}"`,
    );
  }
  if (cur !== "") tokens.push(cur);
  return tokens;
}
