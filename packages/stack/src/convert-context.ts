import type { StackIssue } from "./errors.js";
import { StackErrorCode } from "./errors.js";
import type { StackConfig } from "./model.js";
import { formatPath, type Path, type SourceMap } from "./source-map.js";

/** Label put on every object of a stack, so `stack ls/rm/deploy --prune` can find them. */
export const STACK_NAMESPACE_LABEL = "com.docker.stack.namespace";

/** Name resolution and warnings shared by the converters of one stack. */
export class ConvertContext {
  readonly warnings: StackIssue[] = [];
  readonly usedNetworks = new Set<string>();

  constructor(
    readonly namespace: string,
    readonly config: StackConfig,
    private readonly positions: SourceMap | undefined,
  ) {}

  /** `<stack>_<name>`, as docker/cli's namespace.Scope. */
  scope(name: string): string {
    return `${this.namespace}_${name}`;
  }

  withStackLabel(labels: Record<string, string>): Record<string, string> {
    return { ...labels, [STACK_NAMESPACE_LABEL]: this.namespace };
  }

  /** External objects keep their own name; others get `name:` or the stack-scoped key. */
  private objectName(def: { name?: string | undefined; external: boolean } | undefined, key: string): string {
    if (def?.name !== undefined && def.name !== "") return def.name;
    return this.scope(key);
  }

  networkName(key: string): string {
    return this.objectName(this.config.networks[key], key);
  }

  volumeName(key: string): string {
    return this.objectName(this.config.volumes[key], key);
  }

  secretName(key: string): string {
    return this.objectName(this.config.secrets[key], key);
  }

  configName(key: string): string {
    return this.objectName(this.config.configs[key], key);
  }

  useNetwork(key: string): void {
    this.usedNetworks.add(key);
  }

  warn(service: string, key: string, message: string): void {
    this.warnAt(["services", service, key], message);
  }

  warnAt(path: Path, message: string): void {
    const pos = this.positions?.nearest(path);
    const shown = formatPath(path);
    if (this.warnings.some((w) => w.path === shown && w.message === message)) return;
    this.warnings.push({ code: StackErrorCode.ValueInvalid, path: shown, message, ...(pos ? { pos } : {}) });
  }
}
