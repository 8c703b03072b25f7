export {
  convertStack,
  DEFAULT_NETWORK_DRIVER,
  type StackFileObject,
  type StackNetwork,
  type StackPlan,
} from "./convert.js";
export { STACK_NAMESPACE_LABEL } from "./convert-context.js";
export { DEFAULT_FILE_MODE } from "./convert-service.js";
export { parseCpus } from "./cpus.js";
export { parseDotEnv, parseEnvFile } from "./env-file.js";
export { Diagnostics, formatIssue, StackErrorCode, type StackIssue, stackError } from "./errors.js";
export { interpolateTree, type LookupEnv, substitute } from "./interpolate.js";
export {
  type LoadedStack,
  type LoadStackOptions,
  loadStack,
  type StackFileInput,
  workingDirFor,
} from "./load.js";
export { type LoadStackFilesOptions, loadStackFiles, readTextFile } from "./load-files.js";
export { mergeConfigs } from "./merge.js";
export type * from "./model.js";
export { planStackFiles } from "./plan-stack-files.js";
export { expandPortSpec, parsePortRange } from "./ports.js";
export { type ReadBytes, readStackFiles } from "./read-stack-files.js";
export { planToJson, renderPlan } from "./render.js";
export { splitShellWords } from "./shell-words.js";
export { formatPath, formatPos, type Path, type Pos, SourceMap } from "./source-map.js";
export { FORBIDDEN_SERVICE_KEYS, IGNORED_SERVICE_KEYS } from "./swarm-keys.js";
export { validatePlan } from "./validate-plan.js";
export { parseVolumeSpec } from "./volumes.js";
export { type ParsedYaml, parseYaml } from "./yaml-parse.js";
