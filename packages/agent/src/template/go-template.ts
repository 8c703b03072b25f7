import { ShoalError } from "@shoal/base";
import { AgentErrorCode } from "../errors.js";

/**
 * The part of Go's text/template that Docker's service templates use (`docker service create
 * --hostname "{{.Node.Hostname}}-{{.Task.Slot}}"`): text, `{{.Field.Chain}}`, `{{index .Map
 * "key"}}`, and the `{{-`/`-}}` whitespace trims. Values print as Go prints them (a map as
 * `map[k:v …]` with sorted keys). A field the context does not have is an error that names it —
 * Go's own "can't evaluate field" — so a typo fails the task instead of shipping a literal brace.
 */
export type TemplateValue = string | number | { readonly [key: string]: TemplateValue };

type Node = { kind: "text"; text: string } | { kind: "action"; source: string; body: string };

/** `where` names the input in errors ("env[2]", "hostname"). */
export function expandTemplate(template: string, context: TemplateValue, where: string): string {
  if (!template.includes("{{")) return template;
  let out = "";
  for (const node of parse(template, where)) {
    out += node.kind === "text" ? node.text : format(evaluate(node, context, template, where));
  }
  return out;
}

function parse(template: string, where: string): Node[] {
  const nodes: Node[] = [];
  let pos = 0;
  while (pos < template.length) {
    const open = template.indexOf("{{", pos);
    if (open < 0) {
      nodes.push({ kind: "text", text: template.slice(pos) });
      break;
    }
    const close = template.indexOf("}}", open + 2);
    if (close < 0) throw syntax(template, where, `unclosed action at offset ${open}`);
    let text = template.slice(pos, open);
    let body = template.slice(open + 2, close);
    // Go trims only with a space after "{{-" / before "-}}" ("{{-3}}" is the number -3).
    if (/^-\s/.test(body)) {
      text = text.trimEnd();
      body = body.slice(1);
    }
    let trimAfter = false;
    if (/\s-$/.test(body)) {
      trimAfter = true;
      body = body.slice(0, -1);
    }
    nodes.push({ kind: "text", text });
    nodes.push({ kind: "action", source: template.slice(open, close + 2), body: body.trim() });
    pos = close + 2;
    if (trimAfter) while (pos < template.length && /\s/.test(template.charAt(pos))) pos++;
  }
  return nodes.filter((n) => n.kind === "action" || n.text !== "");
}

function evaluate(node: Node & { kind: "action" }, context: TemplateValue, template: string, where: string) {
  const words = tokenize(node.body, template, where);
  if (words.length === 1 && words[0]?.startsWith(".")) return field(words[0], context, template, where);
  if (words[0] === "index" && words.length >= 3) {
    let value = argument(words[1] ?? "", context, template, where);
    for (const keyWord of words.slice(2)) {
      const key = argument(keyWord, context, template, where);
      if (typeof value !== "object")
        throw syntax(template, where, `index of a non-map value in ${node.source}`);
      value = value[String(key)] ?? "";
    }
    return value;
  }
  throw syntax(template, where, `unsupported action ${node.source} (only fields and "index" are supported)`);
}

function tokenize(body: string, template: string, where: string): string[] {
  const words: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|[^\s"]+)/y;
  let m: RegExpExecArray | null = re.exec(body);
  while (m !== null) {
    words.push(m[1] ?? "");
    m = re.exec(body);
  }
  if (words.join("").length === 0) throw syntax(template, where, "empty action {{}}");
  return words;
}

function argument(word: string, context: TemplateValue, template: string, where: string): TemplateValue {
  if (word.startsWith('"')) return JSON.parse(word) as string;
  if (word.startsWith(".")) return field(word, context, template, where);
  throw syntax(template, where, `unsupported argument "${word}"`);
}

function field(chain: string, context: TemplateValue, template: string, where: string): TemplateValue {
  if (chain === ".") return context;
  let value = context;
  let path = "";
  for (const name of chain.slice(1).split(".")) {
    const own =
      typeof value === "object" && Object.hasOwn(value, name)
        ? (value as Record<string, TemplateValue>)[name]
        : undefined;
    if (own === undefined) {
      throw new ShoalError(
        AgentErrorCode.TemplateUnknownField,
        `template "${template}" in ${where}: ${path === "" ? "the context" : path} has no field "${name}"`,
        {
          hint: "fields: .Service.ID .Service.Name .Service.Labels .Node.ID .Node.Hostname .Node.Platform.OS .Node.Platform.Architecture .Task.ID .Task.Name .Task.Slot",
          details: { where, field: `${path}.${name}` },
        },
      );
    }
    value = own;
    path = `${path}.${name}`;
  }
  return value;
}

function format(value: TemplateValue): string {
  if (typeof value !== "object") return String(value);
  const keys = Object.keys(value).sort();
  return `map[${keys.map((k) => `${k}:${format(value[k] ?? "")}`).join(" ")}]`;
}

function syntax(template: string, where: string, what: string): ShoalError {
  return new ShoalError(AgentErrorCode.TemplateSyntax, `template "${template}" in ${where}: ${what}`, {
    details: { where },
  });
}
