import type { CliIo, OutputFormat } from "./io.js";

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
}

/**
 * Prints rows as an aligned table (Docker-style upper-case headers, two spaces between columns),
 * or as JSON for scripts. `json` is what `--format json` prints: the full objects, not the columns.
 */
export function printRows<Row>(
  io: CliIo,
  format: OutputFormat,
  rows: readonly Row[],
  columns: readonly Column<Row>[],
  json: (row: Row) => unknown = (row) => row,
): void {
  if (format === "json") {
    io.stdout.write(`${JSON.stringify(rows.map(json), null, 2)}\n`);
    return;
  }
  const cells = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => c.value(row)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? "").length)));
  for (const line of cells) {
    const text = line
      .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ");
    io.stdout.write(`${text.trimEnd()}\n`);
  }
}
