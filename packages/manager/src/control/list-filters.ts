// The `Filters` of the control API's List calls (pure): names, name prefixes, ids, id prefixes
// and labels (`key` alone matches any value, as docker's `--filter label=key`), all set fields
// must match — as swarmkit's controlapi filters do.

interface Named {
  id: string;
  spec?: { name: string; labels: { [key: string]: string } } | undefined;
}

export interface CommonFilters {
  names?: readonly string[];
  namePrefixes?: readonly string[];
  ids?: readonly string[];
  idPrefixes?: readonly string[];
  labels?: { [key: string]: string };
}

export function matchesCommon(
  o: Named,
  f: CommonFilters | undefined,
  labels = o.spec?.labels ?? {},
): boolean {
  if (f === undefined) return true;
  const name = o.spec?.name ?? "";
  if ((f.names?.length ?? 0) > 0 && !f.names?.includes(name)) return false;
  if ((f.namePrefixes?.length ?? 0) > 0 && !f.namePrefixes?.some((p) => name.startsWith(p))) return false;
  if ((f.ids?.length ?? 0) > 0 && !f.ids?.includes(o.id)) return false;
  if ((f.idPrefixes?.length ?? 0) > 0 && !f.idPrefixes?.some((p) => o.id.startsWith(p))) return false;
  for (const [key, value] of Object.entries(f.labels ?? {})) {
    if (!(key in labels)) return false;
    if (value !== "" && labels[key] !== value) return false;
  }
  return true;
}
