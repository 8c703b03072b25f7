import { describe, expect, it } from "vitest";
import { splitShellWords } from "./shell-words.js";

describe("splitShellWords", () => {
  it.each([
    ["bundle exec thin -p 3000", ["bundle", "exec", "thin", "-p", "3000"]],
    [`sh -c "echo $HOME; ls"`, ["sh", "-c", "echo $HOME; ls"]],
    [`a 'b c' "d \\"e\\"" f\\ g`, ["a", "b c", 'd "e"', "f g"]],
    [`--flag="" x`, ["--flag=", "x"]],
    ["  spaced   out  ", ["spaced", "out"]],
    ["cmd # comment", ["cmd"]],
    ["", []],
  ])("%s", (input, words) => {
    expect(splitShellWords(input)).toEqual(words);
  });

  it("refuses an open quote", () => {
    expect(splitShellWords(`echo "oops`)).toBeUndefined();
  });
});
