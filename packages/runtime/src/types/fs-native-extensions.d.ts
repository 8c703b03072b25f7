// The part of fs-native-extensions (holepunchto, no bundled types) that the root lock uses.
declare module "fs-native-extensions" {
  /** Exclusive (or shared) lock on the whole file without waiting; false when another holds it. */
  function tryLock(fd: number, opts?: { shared?: boolean }): boolean;
  const fsx: { tryLock: typeof tryLock };
  export default fsx;
}
