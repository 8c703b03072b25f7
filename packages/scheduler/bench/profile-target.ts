// One schedule() call of the benchmark shape, for profiling:
//   node --conditions=shoal-source --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof \
//     bench/profile-target.ts 10000 1000 1000
//   node --import tsx bench/profile-summary.ts /tmp/prof
import { schedule } from "../src/index.js";
import { benchInput } from "./shape.js";

const [nodes = 1000, services = 100, perService = 1000] = process.argv.slice(2).map(Number);
const input = benchInput(nodes, services, perService);
const cpuStarted = process.cpuUsage();
const started = process.hrtime.bigint();
const result = schedule(input, { random: 42 });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuStarted);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
process.stdout.write(
  `placed ${result.assignments.length} in ${seconds.toFixed(3)} s (cpu ${cpuSeconds.toFixed(3)} s), rss ${rssMiB} MiB\n`,
);
