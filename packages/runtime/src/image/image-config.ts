import { ShoalError } from "@shoal/base";
import { isDigest } from "./digest.js";
import { ImageErrorCode } from "./errors.js";
import type { ImageConfig, ImageHealthcheck, Platform } from "./types.js";

export interface ParsedImageConfig {
  platform: Platform;
  config: ImageConfig;
  diffIds: string[];
}

const NS_PER_MS = 1_000_000;

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === "string") ? (value as string[]) : undefined;
}

function keys(value: unknown): string[] {
  return typeof value === "object" && value !== null ? Object.keys(value).sort() : [];
}

function durationMs(value: unknown): number | undefined {
  return typeof value === "number" && value > 0 ? Math.round(value / NS_PER_MS) : undefined;
}

function parseHealthcheck(value: unknown): ImageHealthcheck | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const h = value as Record<string, unknown>;
  const test = strings(h.Test);
  if (test === undefined || test.length === 0) return undefined;
  const out: ImageHealthcheck = { test };
  const interval = durationMs(h.Interval);
  const timeout = durationMs(h.Timeout);
  const startPeriod = durationMs(h.StartPeriod);
  if (interval !== undefined) out.intervalMs = interval;
  if (timeout !== undefined) out.timeoutMs = timeout;
  if (startPeriod !== undefined) out.startPeriodMs = startPeriod;
  if (typeof h.Retries === "number" && h.Retries > 0) out.retries = h.Retries;
  return out;
}

/** Parses an OCI/Docker image config blob into what the runtime needs. */
export function parseImageConfig(bytes: Uint8Array): ParsedImageConfig {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new ShoalError(ImageErrorCode.InvalidManifest, "image config is not valid JSON");
  }
  if (typeof doc !== "object" || doc === null)
    throw new ShoalError(ImageErrorCode.InvalidManifest, "image config is not a JSON object");
  const rootfs = (doc.rootfs ?? {}) as Record<string, unknown>;
  const diffIds = strings(rootfs.diff_ids);
  if (diffIds === undefined || !diffIds.every(isDigest)) {
    throw new ShoalError(
      ImageErrorCode.InvalidManifest,
      "image config rootfs.diff_ids is missing or not a list of sha256 digests",
    );
  }
  const c = (typeof doc.config === "object" && doc.config !== null ? doc.config : {}) as Record<
    string,
    unknown
  >;
  const config: ImageConfig = {
    env: strings(c.Env) ?? [],
    exposedPorts: keys(c.ExposedPorts),
    volumes: keys(c.Volumes),
    labels: (typeof c.Labels === "object" && c.Labels !== null ? c.Labels : {}) as Record<string, string>,
  };
  const entrypoint = strings(c.Entrypoint);
  const cmd = strings(c.Cmd);
  const healthcheck = parseHealthcheck(c.Healthcheck);
  if (entrypoint !== undefined) config.entrypoint = entrypoint;
  if (cmd !== undefined) config.cmd = cmd;
  if (typeof c.WorkingDir === "string" && c.WorkingDir !== "") config.workingDir = c.WorkingDir;
  if (typeof c.User === "string" && c.User !== "") config.user = c.User;
  if (typeof c.StopSignal === "string" && c.StopSignal !== "") config.stopSignal = c.StopSignal;
  if (healthcheck !== undefined) config.healthcheck = healthcheck;
  const platform: Platform = {
    os: typeof doc.os === "string" ? doc.os : "linux",
    architecture: typeof doc.architecture === "string" ? doc.architecture : "amd64",
    ...(typeof doc.variant === "string" ? { variant: doc.variant } : {}),
  };
  return { platform, config, diffIds };
}

/** A config blob for a plain rootfs import (Docker's `docker import` does the same). */
export function synthesizeConfig(
  diffId: string,
  platform: Platform,
  config: Partial<ImageConfig>,
  createdIso: string,
): Buffer {
  const c: Record<string, unknown> = {
    Env: config.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  };
  if (config.entrypoint !== undefined) c.Entrypoint = config.entrypoint;
  if (config.cmd !== undefined) c.Cmd = config.cmd;
  if (config.workingDir !== undefined) c.WorkingDir = config.workingDir;
  if (config.user !== undefined) c.User = config.user;
  if (config.stopSignal !== undefined) c.StopSignal = config.stopSignal;
  if (config.exposedPorts !== undefined)
    c.ExposedPorts = Object.fromEntries(config.exposedPorts.map((p) => [p, {}]));
  if (config.labels !== undefined) c.Labels = config.labels;
  return Buffer.from(
    JSON.stringify({
      created: createdIso,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant === undefined ? {} : { variant: platform.variant }),
      config: c,
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [{ created: createdIso, created_by: "shoal image import" }],
    }),
  );
}
