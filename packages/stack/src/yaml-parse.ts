import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type ScalarTag,
  visit,
  type YAMLMap,
} from "yaml";
import { type Diagnostics, StackErrorCode } from "./errors.js";
import { type Path, type Pos, SourceMap } from "./source-map.js";

/** The plain value of one stack file plus where each part of it came from. */
export interface ParsedYaml {
  file: string;
  value: unknown;
  positions: SourceMap;
}

/**
 * Docker's loader reads YAML with go-yaml v3: the YAML 1.2 core schema (so `yes`/`on` stay
 * strings) except that integers with a leading zero are octal, as in YAML 1.1 (`mode: 0440` is
 * 288). This tag runs before the core int tags so `0555` resolves to 365, not 555.
 */
const legacyOctal: ScalarTag = {
  identify: (value) => typeof value === "number",
  default: true,
  tag: "tag:yaml.org,2002:int",
  format: "OCT",
  test: /^[-+]?0[0-7]+$/,
  resolve: (str) => {
    const sign = str.startsWith("-") ? -1 : 1;
    return sign * Number.parseInt(str.replace(/^[-+]?0/, ""), 8);
  },
};

// Expanding aliases can blow up (a "billion laughs" document); no real stack file comes near this.
const MAX_EXPANDED_NODES = 1_000_000;
const MAX_DEPTH = 200;

/** Parses one file. Problems go to `diag`; returns undefined when the YAML is unusable. */
export function parseYaml(file: string, text: string, diag: Diagnostics): ParsedYaml | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: "1.2",
    schema: "core",
    customTags: (tags) => [legacyOctal, ...tags],
    merge: true,
    uniqueKeys: true,
    lineCounter,
    prettyErrors: false,
    strict: true,
  });
  const posAt = (offset: number): Pos => {
    const lp = lineCounter.linePos(offset);
    return { file, line: lp.line, col: lp.col };
  };
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = posAt(err.pos[0]);
      if (err.code === "DUPLICATE_KEY") {
        const key = duplicateKeyAt(doc, err.pos[0]);
        diag.error({
          code: StackErrorCode.YamlInvalid,
          pos,
          message: `duplicate key ${JSON.stringify(key)}`,
        });
      } else {
        diag.error({
          code: StackErrorCode.YamlInvalid,
          pos,
          message: `invalid YAML: ${yamlMessage(err.message)}`,
        });
      }
    }
    return undefined;
  }
  const walker = new Walker(doc, posAt, diag);
  const positions = walker.positions;
  positions.set([], { file, line: 1, col: 1 });
  const value = doc.contents === null ? null : walker.toValue(doc.contents, [], 0);
  if (walker.failed) return undefined;
  return { file, value, positions };
}

function yamlMessage(message: string): string {
  const first = (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "").trim();
  return first.length > 0 ? first[0]!.toLowerCase() + first.slice(1) : "unparseable";
}

function duplicateKeyAt(doc: Document, offset: number): string {
  let found = "?";
  const visit = (node: unknown): void => {
    if (found !== "?") return;
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = pair.key as Node | null;
        if (isScalar(k) && k.range?.[0] === offset) {
          found = String(k.value);
          return;
        }
        visit(pair.value);
      }
    } else if (isSeq(node)) node.items.forEach(visit);
  };
  visit(doc.contents);
  return found;
}

class Walker {
  readonly positions = new SourceMap();
  failed = false;
  private expanded = 0;

  constructor(
    private readonly doc: Document,
    private readonly posAt: (offset: number) => Pos,
    private readonly diag: Diagnostics,
  ) {}

  private fail(node: Node | null | undefined, message: string): void {
    this.failed = true;
    const offset = node?.range?.[0] ?? 0;
    this.diag.error({ code: StackErrorCode.YamlInvalid, pos: this.posAt(offset), message });
  }

  /**
   * Anchors by name, in document order. yaml's Alias.resolve searches the whole document on every
   * call, which makes a file with an alias per service quadratic; one pass up front keeps it linear.
   */
  private anchors: Map<string, Array<{ offset: number; node: Node }>> | undefined;

  private findAnchor(name: string, beforeOffset: number): Node | undefined {
    if (this.anchors === undefined) {
      const anchors = new Map<string, Array<{ offset: number; node: Node }>>();
      visit(this.doc, {
        Node: (_key, node) => {
          if (node.anchor === undefined || isAlias(node)) return;
          const list = anchors.get(node.anchor) ?? [];
          list.push({ offset: node.range?.[0] ?? 0, node });
          anchors.set(node.anchor, list);
        },
      });
      this.anchors = anchors;
    }
    // An alias refers to the closest anchor of that name before it.
    let found: Node | undefined;
    for (const a of this.anchors.get(name) ?? []) if (a.offset < beforeOffset) found = a.node;
    return found;
  }

  private resolve(node: unknown): Node | null {
    let current = node;
    for (let hops = 0; isAlias(current); hops++) {
      const target = this.findAnchor(current.source, current.range?.[0] ?? Number.MAX_SAFE_INTEGER);
      if (target === undefined || hops > MAX_DEPTH) {
        this.fail(current, `unknown alias "*${current.source}"`);
        return null;
      }
      current = target;
    }
    return (current as Node | null | undefined) ?? null;
  }

  toValue(raw: unknown, path: Path, depth: number): unknown {
    if (++this.expanded > MAX_EXPANDED_NODES || depth > MAX_DEPTH) {
      if (!this.failed) this.fail(raw as Node, "document is too deeply nested or expands too many aliases");
      return null;
    }
    const node = this.resolve(raw);
    if (node === null) return null;
    if (isScalar(node)) {
      const v = node.value;
      return typeof v === "bigint" ? Number(v) : v;
    }
    if (isSeq(node)) {
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        const itemPath = [...path, i];
        const n = item as Node | null;
        this.positions.set(itemPath, this.posAt(n?.range?.[0] ?? node.range?.[0] ?? 0));
        out.push(this.toValue(n, itemPath, depth + 1));
      });
      return out;
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const { key, keyNode, value } of this.pairs(node, depth)) {
        const entryPath = [...path, key];
        this.positions.set(entryPath, this.posAt(keyNode?.range?.[0] ?? node.range?.[0] ?? 0));
        setOwn(out, key, this.toValue(value, entryPath, depth + 1));
      }
      return out;
    }
    this.fail(node, "unsupported YAML node");
    return null;
  }

  /** The entries of a map with `<<` merge keys applied: own keys win, then earlier merge sources. */
  private pairs(map: YAMLMap, depth: number): Array<{ key: string; keyNode: Node | null; value: unknown }> {
    const own: Array<{ key: string; keyNode: Node | null; value: unknown }> = [];
    const merged: Array<{ key: string; keyNode: Node | null; value: unknown }> = [];
    for (const pair of map.items as Pair[]) {
      const keyNode = this.resolve(pair.key);
      if (isScalar(keyNode) && typeof keyNode.value === "symbol") {
        const sources = this.resolve(pair.value);
        if (sources === null && isAlias(pair.value)) continue; // the unknown alias is reported already
        const maps = isSeq(sources) ? sources.items.map((s) => this.resolve(s)) : [sources];
        for (const source of maps) {
          if (!isMap(source)) {
            this.fail(
              (pair.value as Node | null) ?? keyNode,
              "merge key <<: expects a mapping or a list of mappings",
            );
            continue;
          }
          if (depth > MAX_DEPTH) continue;
          merged.push(...this.pairs(source, depth + 1));
        }
        continue;
      }
      if (!isScalar(keyNode) || typeof keyNode.value !== "string") {
        const shown = isScalar(keyNode) ? String(keyNode.value) : "a collection";
        this.fail(keyNode ?? map, `keys must be strings, got ${shown}`);
        continue;
      }
      own.push({ key: keyNode.value, keyNode, value: pair.value });
    }
    const seen = new Set(own.map((p) => p.key));
    const out = [...own];
    for (const p of merged) {
      if (seen.has(p.key)) continue;
      seen.add(p.key);
      out.push(p);
    }
    return out;
  }
}

/** Assigns without ever touching the prototype (a key named `__proto__` is just a key). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else target[key] = value;
}
