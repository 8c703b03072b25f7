/**
 * Splits a command string into words as a POSIX shell would, without expanding anything (like
 * google/shlex, which docker/cli uses for `command: bundle exec thin`). Undefined when a quote
 * is left open.
 */
export function splitShellWords(input: string): string[] | undefined {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && i + 1 < input.length && '"\\$`\n'.includes(input[i + 1] as string)) {
        i++;
        if (input[i] !== "\n") word += input[i];
      } else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\") {
      i++;
      if (i < input.length && input[i] !== "\n") word += input[i];
      inWord = true;
    } else if (c === "#" && !inWord) {
      break; // comment to the end of the line, as shlex does
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) return undefined;
  if (inWord) words.push(word);
  return words;
}
