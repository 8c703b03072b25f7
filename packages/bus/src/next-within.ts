/** The iterator's next result, or undefined when none came within `ms` (the call stays pending). */
export async function nextWithin<T>(
  it: AsyncIterator<T>,
  ms: number,
): Promise<IteratorResult<T> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([it.next(), idle]);
  } finally {
    clearTimeout(timer);
  }
}
