/**
 * The one place where the runtime ignores a failure — and only the failures it names.
 *
 * A bare `.catch(() => undefined)` hides the error nobody expected (EACCES, EIO, a runc bug) along
 * with the one that was expected (ENOENT after a crash). Every ignored failure goes through here
 * instead, by its code: a Node errno code (`ENOENT`, `ESRCH`, …) or a `ShoalError` code
 * (`CONTAINER_NOT_FOUND`, …). Anything else is rethrown.
 */
export type IgnorableCode = string;

/** The code of an error: a Node errno code or a ShoalError code, or undefined. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** True when `err` carries one of `codes`. */
export function hasCode(err: unknown, codes: readonly IgnorableCode[]): boolean {
  const code = errorCode(err);
  return code !== undefined && codes.includes(code);
}

/**
 * Awaits `work`; if it fails with one of `codes`, resolves to `fallback` instead. Any other
 * failure is rethrown unchanged.
 *
 *   const text = await ignoring(readFile(p, "utf8"), ["ENOENT"], "");
 */
export async function ignoring<T, F>(
  work: Promise<T>,
  codes: readonly IgnorableCode[],
  fallback: F,
): Promise<T | F> {
  try {
    return await work;
  } catch (err) {
    if (hasCode(err, codes)) return fallback;
    throw err;
  }
}
