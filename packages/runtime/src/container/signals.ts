import { constants } from "node:os";
import { ShoalError } from "@shoal/base";
import { ContainerErrorCode } from "./errors.js";

/**
 * "SIGTERM", "TERM", "term" or "15" → "SIGTERM". Stop signals come from users and images, so
 * unknown names are rejected here rather than by runc at stop time.
 */
export function normalizeSignal(signal: string | number): string {
  const table = constants.signals as Record<string, number>;
  if (typeof signal === "number" || /^\d+$/.test(signal)) {
    const n = Number(signal);
    const name = Object.keys(table).find((k) => table[k] === n);
    if (name === undefined) throw new ShoalError(ContainerErrorCode.InvalidSpec, `signal ${n} is not known`);
    return name;
  }
  const upper = signal.trim().toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  if (table[name] === undefined) {
    throw new ShoalError(ContainerErrorCode.InvalidSpec, `signal "${signal}" is not known`, {
      hint: "use a name such as SIGTERM, SIGINT, SIGQUIT or a number",
    });
  }
  return name;
}

export function signalNumber(signal: string): number {
  return (constants.signals as Record<string, number>)[normalizeSignal(signal)] as number;
}
