/** True when `err` is the rejection of an aborted signal (DOMException "AbortError" or our reason). */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError");
}
