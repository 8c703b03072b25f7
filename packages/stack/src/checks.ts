import { type Diagnostics, StackErrorCode } from "./errors.js";
import type { ServiceConfig, StackConfig } from "./model.js";
import { formatPath, type Path, type SourceMap } from "./source-map.js";

/** One loaded file after normalization, with its positions. */
export interface NormalizedFile {
  file: string;
  config: StackConfig;
  positions: SourceMap;
}

const MODES = ["replicated", "global", "replicated-job", "global-job"];
const RESTART_CONDITIONS = ["none", "on-failure", "any"];
const FAILURE_ACTIONS = ["continue", "pause", "rollback"];
const ORDERS = ["stop-first", "start-first"];
const ENDPOINT_MODES = ["vip", "dnsrr"];

/**
 * Semantic checks after merging: references resolve against the merged top-level definitions
 * (reported where each file makes them), and deploy settings make sense together.
 */
export function checkStack(files: readonly NormalizedFile[], merged: StackConfig, diag: Diagnostics): void {
  for (const f of files) {
    const err = (path: Path, message: string, code: StackErrorCode = StackErrorCode.UndefinedReference) => {
      const pos = f.positions.nearest(path);
      diag.error({ code, message, path: formatPath(path), ...(pos ? { pos } : { file: f.file }) });
    };
    for (const [name, svc] of Object.entries(f.config.services)) {
      const base: Path = ["services", name];
      svc.secrets?.forEach((ref, i) => {
        if (!(ref.source in merged.secrets))
          err(
            [...base, "secrets", i],
            `secret ${JSON.stringify(ref.source)} is not defined under the top-level secrets:`,
          );
      });
      svc.configs?.forEach((ref, i) => {
        if (!(ref.source in merged.configs))
          err(
            [...base, "configs", i],
            `config ${JSON.stringify(ref.source)} is not defined under the top-level configs:`,
          );
      });
      Object.keys(svc.networks ?? {}).forEach((net, i) => {
        if (net === "default" || net in merged.networks) return;
        // Networks may be a map (positioned by name) or a list (by index; the order is kept).
        const byName: Path = [...base, "networks", net];
        const path = f.positions.get(byName) !== undefined ? byName : [...base, "networks", i];
        err(path, `network ${JSON.stringify(net)} is not defined under the top-level networks:`);
      });
      svc.volumes?.forEach((v, i) => {
        if (v.type === "volume" && v.source !== undefined && !(v.source in merged.volumes)) {
          err(
            [...base, "volumes", i],
            `volume ${JSON.stringify(v.source)} is not defined under the top-level volumes:`,
          );
        }
      });
    }
  }
  for (const [name, svc] of Object.entries(merged.services)) checkService(files, name, svc, diag);
}

function checkService(
  files: readonly NormalizedFile[],
  name: string,
  svc: ServiceConfig,
  diag: Diagnostics,
): void {
  const err = (path: Path, message: string) => {
    for (let i = files.length - 1; i >= 0; i--) {
      const f = files[i]!;
      if (!(name in f.config.services)) continue;
      const pos = f.positions.nearest(path);
      diag.error({
        code: StackErrorCode.ValueInvalid,
        message,
        path: formatPath(path),
        ...(pos ? { pos } : { file: f.file }),
      });
      return;
    }
  };
  const base: Path = ["services", name];
  if (svc.image === undefined || svc.image === "")
    err(base, "missing image: Swarm runs images, it does not build them");
  const d = svc.deploy;
  if (d === undefined) return;
  const oneOf = (path: Path, value: string | undefined, allowed: string[]) => {
    if (value !== undefined && !allowed.includes(value)) {
      err(
        path,
        `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${JSON.stringify(value)}`,
      );
    }
  };
  const dp: Path = [...base, "deploy"];
  oneOf([...dp, "mode"], d.mode, MODES);
  if (d.replicas !== undefined && (d.mode === "global" || d.mode === "global-job")) {
    err([...dp, "replicas"], `cannot be set with mode ${JSON.stringify(d.mode)}`);
  }
  if (d.replicas !== undefined && (!Number.isInteger(d.replicas) || d.replicas < 0)) {
    err([...dp, "replicas"], `must be a whole number of 0 or more, got ${d.replicas}`);
  }
  oneOf([...dp, "restart_policy", "condition"], d.restart_policy?.condition, RESTART_CONDITIONS);
  for (const key of ["update_config", "rollback_config"] as const) {
    oneOf([...dp, key, "failure_action"], d[key]?.failure_action, FAILURE_ACTIONS);
    oneOf([...dp, key, "order"], d[key]?.order, ORDERS);
    const ratio = d[key]?.max_failure_ratio;
    if (ratio !== undefined && (ratio < 0 || ratio > 1))
      err([...dp, key, "max_failure_ratio"], `must be between 0 and 1, got ${ratio}`);
  }
  oneOf([...dp, "endpoint_mode"], d.endpoint_mode, ENDPOINT_MODES);
  if (
    d.endpoint_mode === "dnsrr" &&
    svc.ports?.some((p) => p.mode === "ingress" && p.published !== undefined)
  ) {
    err(
      [...base, "ports"],
      `ports published in ingress mode need endpoint_mode vip; use mode: host with dnsrr`,
    );
  }
}
