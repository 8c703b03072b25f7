/**
 * Parses a CPU count ("0.5", "2", ".25") into nano-CPUs, as Docker's ParseCPUs does: the value
 * times 10^9 must be a whole number. Undefined when the string is not a positive decimal number.
 */
export function parseCpus(value: string): number | undefined {
  const m = /^\s*(\d*)(?:\.(\d*))?\s*$/.exec(value);
  if (m === null || (m[1] === "" && (m[2] ?? "") === "")) return undefined;
  const frac = m[2] ?? "";
  // Decimal arithmetic on the digits avoids float error ("0.0001" → 100000 exactly).
  if (frac.length > 9 && /[1-9]/.test(frac.slice(9))) return undefined;
  const whole = m[1] === "" ? 0 : Number(m[1]);
  const nano = whole * 1e9 + Number(frac.slice(0, 9).padEnd(9, "0"));
  return Number.isSafeInteger(nano) ? nano : undefined;
}
