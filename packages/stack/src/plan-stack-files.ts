import { convertStack, type StackPlan } from "./convert.js";
import { stackError } from "./errors.js";
import { type LoadStackFilesOptions, loadStackFiles } from "./load-files.js";
import { validatePlan } from "./validate-plan.js";

/**
 * Everything `stack config` and `stack deploy` need before talking to a cluster: load the files,
 * convert them for `namespace`, and check the specs against the manager's rules. Throws one
 * ShoalError listing every problem; warnings (ignored keys, unset variables, …) are in the plan.
 */
export function planStackFiles(
  paths: readonly string[],
  namespace: string,
  options: LoadStackFilesOptions = {},
): StackPlan {
  const loaded = loadStackFiles(paths, options);
  const plan = convertStack(loaded.config, namespace, loaded.positions);
  const problems = validatePlan(plan, loaded.positions);
  if (problems.length > 0) throw stackError(problems);
  return { ...plan, warnings: [...loaded.warnings, ...plan.warnings] };
}
