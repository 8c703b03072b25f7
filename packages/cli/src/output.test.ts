import { describe, expect, it } from "vitest";
import type { CliIo } from "./io.js";
import { printRows } from "./output.js";

function capture(): { io: CliIo; out: () => string } {
  let stdout = "";
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: () => {} },
    env: {},
    cwd: "/",
  };
  return { io, out: () => stdout };
}

const rows = [
  { id: "abc", name: "web", replicas: "3/3" },
  { id: "defgh", name: "db", replicas: "1/1" },
];
const columns = [
  { header: "ID", value: (r: (typeof rows)[number]) => r.id },
  { header: "NAME", value: (r: (typeof rows)[number]) => r.name },
  { header: "REPLICAS", value: (r: (typeof rows)[number]) => r.replicas },
];

describe("printRows", () => {
  it("aligns a table", () => {
    const { io, out } = capture();
    printRows(io, "table", rows, columns);
    expect(out()).toBe("ID     NAME  REPLICAS\nabc    web   3/3\ndefgh  db    1/1\n");
  });

  it("prints full objects as JSON", () => {
    const { io, out } = capture();
    printRows(io, "json", rows, columns);
    expect(JSON.parse(out())).toEqual(rows);
  });
});
