/** A place in a stack file. Lines and columns start at 1, as editors show them. */
export interface Pos {
  file: string;
  line: number;
  col: number;
}

export function formatPos(pos: Pos): string {
  return `${pos.file}:${pos.line}:${pos.col}`;
}

/** One step into a document: a map key or a list index. */
export type PathSeg = string | number;
export type Path = readonly PathSeg[];

/** `services.web.ports[0].target` — how paths are shown to people. */
export function formatPath(path: Path): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

function keyOf(path: Path): string {
  // NUL cannot appear in YAML text, so it separates segments without ambiguity; numbers are
  // tagged so that key "0" and index 0 differ.
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `\u0000#${seg}` : `\u0000${seg}`;
  return out;
}

/**
 * Where each value of a loaded document came from. Map entries point at their key (the line a
 * person looks for), list items at the item. Values merged in by `<<` or aliases point at the
 * anchored text they were copied from.
 */
export class SourceMap {
  private readonly byPath = new Map<string, Pos>();

  set(path: Path, pos: Pos): void {
    this.byPath.set(keyOf(path), pos);
  }

  get(path: Path): Pos | undefined {
    return this.byPath.get(keyOf(path));
  }

  /** The position of `path`, or of its closest ancestor that has one. */
  nearest(path: Path): Pos | undefined {
    for (let n = path.length; n >= 0; n--) {
      const pos = this.byPath.get(keyOf(path.slice(0, n)));
      if (pos !== undefined) return pos;
    }
    return undefined;
  }

  /** Copies all positions under `from` to `to` (used when values move, e.g. while merging files). */
  copyTree(from: SourceMap): void {
    for (const [k, v] of from.byPath) if (!this.byPath.has(k)) this.byPath.set(k, v);
  }

  /** Positions of `from` override ours (a later file's values override an earlier file's). */
  overrideWith(from: SourceMap): void {
    for (const [k, v] of from.byPath) this.byPath.set(k, v);
  }
}
