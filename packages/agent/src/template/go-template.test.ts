import { ShoalError } from "@shoal/base";
import { ContainerSpec, Mount, MountType, Task } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { AgentErrorCode } from "../errors.js";
import { expandTemplate } from "./go-template.js";
import { expandContainerSpec, templateContext } from "./task-template.js";

const node = { id: "node1", hostname: "worker-a", platform: { os: "linux", architecture: "amd64" } };
const task = Task.fromPartial({
  id: "task1",
  name: "web.3.task1",
  serviceId: "svc1",
  slot: 3,
  nodeId: "node1",
  serviceLabels: { tier: "front", app: "shop" },
});
const ctx = templateContext(task, node);

describe("expandTemplate", () => {
  it.each([
    ["plain text", "plain text"],
    ["{{.Task.Slot}}", "3"],
    ["{{.Task.ID}}", "task1"],
    ["{{.Task.Name}}", "web.3.task1"],
    ["{{.Service.Name}}", "web"],
    ["{{.Service.ID}}", "svc1"],
    ["{{.Service.Labels}}", "map[app:shop tier:front]"],
    ['{{index .Service.Labels "tier"}}', "front"],
    ['{{index .Service.Labels "missing"}}', ""],
    ["{{.Node.ID}}", "node1"],
    ["{{.Node.Hostname}}", "worker-a"],
    ["{{.Node.Platform.OS}}/{{.Node.Platform.Architecture}}", "linux/amd64"],
    ["{{.Service.Name}}-{{.Task.Slot}}.{{.Node.Hostname}}", "web-3.worker-a"],
    ["{{ .Task.Slot }}", "3"],
    ["a  {{- .Task.Slot -}}  b", "a3b"],
    ["{{ }", "{{ }"],
  ])("%s → %s", (template, expected) => {
    if (template === "{{ }") {
      expect(() => expandTemplate(template, ctx, "hostname")).toThrow(/unclosed action/);
      return;
    }
    expect(expandTemplate(template, ctx, "hostname")).toBe(expected);
  });

  it("uses the node id as the slot of a global task, as swarmkit does", () => {
    const global = templateContext({ ...task, slot: 0 }, node);
    expect(expandTemplate("{{.Task.Slot}}", global, "hostname")).toBe("node1");
  });

  it.each([
    ["{{.Task.Foo}}", ".Task", "Foo"],
    ["{{.Nodes.ID}}", "the context", "Nodes"],
    ["{{.Node.Platform.Arch}}", ".Node.Platform", "Arch"],
  ])("%s names the unknown field", (template, owner, name) => {
    let caught: unknown;
    try {
      expandTemplate(template, ctx, "env[1]");
    } catch (err) {
      caught = err;
    }
    expect(ShoalError.is(caught, AgentErrorCode.TemplateUnknownField)).toBe(true);
    expect((caught as Error).message).toBe(
      `template "${template}" in env[1]: ${owner} has no field "${name}"`,
    );
  });

  it.each(['{{printf "%s" .Task.ID}}', "{{}}", '{{index .Task.ID "x"}}'])("%s is a syntax error", (t) => {
    expect(() => expandTemplate(t, ctx, "hostname")).toThrow(
      expect.objectContaining({ code: AgentErrorCode.TemplateSyntax }),
    );
  });
});

describe("expandContainerSpec", () => {
  it("expands hostname, every env entry and mount sources and targets, and nothing else", () => {
    const spec = ContainerSpec.fromPartial({
      image: "busybox:{{.Task.Slot}}",
      hostname: "{{.Service.Name}}-{{.Task.Slot}}",
      env: ["SLOT={{.Task.Slot}}", "NODE={{.Node.Hostname}}", "PLAIN=x"],
      args: ["{{.Task.Slot}}"],
      mounts: [
        Mount.fromPartial({
          type: MountType.BIND,
          source: "/data/{{.Task.Slot}}",
          target: "/d/{{.Service.Name}}",
        }),
        Mount.fromPartial({ type: MountType.VOLUME, source: "vol-{{.Task.Slot}}", target: "/v" }),
      ],
    });
    const out = expandContainerSpec(spec, ctx);
    expect(out.hostname).toBe("web-3");
    expect(out.env).toEqual(["SLOT=3", "NODE=worker-a", "PLAIN=x"]);
    expect(out.mounts.map((m) => [m.source, m.target])).toEqual([
      ["/data/3", "/d/web"],
      ["vol-3", "/v"],
    ]);
    expect(out.image).toBe("busybox:{{.Task.Slot}}");
    expect(out.args).toEqual(["{{.Task.Slot}}"]);
  });

  it("says which mount has the bad field", () => {
    const spec = ContainerSpec.fromPartial({
      mounts: [Mount.fromPartial({ source: "x", target: "/{{.Task.Nope}}" })],
    });
    expect(() => expandContainerSpec(spec, ctx)).toThrow('in mounts[0].target: .Task has no field "Nope"');
  });
});
