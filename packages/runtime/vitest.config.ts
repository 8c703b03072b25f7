import { packageProject } from "../../vitest.shared.js";

// Runtime tests mount overlayfs, run runc and start registries: kernel state, one file at a time.
export default packageProject("runtime", { serial: true });
