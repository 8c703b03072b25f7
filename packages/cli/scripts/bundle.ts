// Bundles the `shoal` command (src/main.ts and every package it imports) into dist/shoal.js and
// the chunks its lazy imports load (dist/shoal-*.js), which bin/shoal.js runs. Run by `npm run
// build` after tsc.
//
// Why: `shoal daemon` keeps the text of every module it loads in its heap, and the unbundled
// dist holds ~900 modules with their comments (the wire types alone are 1 MB of source). One
// bundle without comments and whitespace, split per command, starts faster and leaves the
// daemon several MiB smaller (packages/cli/README.md has the figures).
//
// Identifiers are not minified, so stack traces name the functions they went through; the
// source maps (dist/shoal*.js.map) give file:line of the TypeScript: bin/shoal.js turns them on
// for `--debug`, and NODE_OPTIONS=--enable-source-maps does for any run (they cost MiBs of heap
// when on, so they are not on by default).
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, type Plugin } from "esbuild";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const outdir = join(packageDir, "dist");

/**
 * Left out of the bundle and imported from node_modules at run time: packages that find files
 * next to their own code (pino's transport worker), the native addon, and grpc-js's
 * `@grpc/proto-loader`, which grpc-js requires only inside its channelz and ORCA services (never
 * used here): bundled, its protobufjs would be ~165 KB of module text held in every daemon's heap.
 */
const EXTERNAL = ["pino", "pino-pretty", "thread-stream", "fs-native-extensions", "@grpc/proto-loader"];

/**
 * The stack loader reads its JSON schemas from `../schemas/` beside its module; in the bundle
 * that module is a chunk of dist/, so the directory is found from the @shoal/stack package
 * instead. Fails the build if the line it rewrites has changed.
 */
const stackSchemaDir: Plugin = {
  name: "stack-schema-dir",
  setup(b) {
    b.onLoad({ filter: /[\\/]stack[\\/]src[\\/]schema\.ts$/ }, async (args) => {
      const from = 'new URL("../schemas/", import.meta.url)';
      const source = await readFile(args.path, "utf8");
      if (!source.includes(from)) throw new Error(`${args.path}: no ${from} to point at the package`);
      return {
        contents: source.replace(from, 'new URL("../schemas/", import.meta.resolve("@shoal/stack"))'),
        loader: "ts",
      };
    });
  },
};

// Chunk names carry a content hash: drop the previous build's so none is left behind.
for (const name of await readdir(outdir).catch(() => [])) {
  if (/^shoal[.-].*\.js(\.map)?$/.test(name)) await rm(join(outdir, name));
}

/** One set of options for both bundles below, so that they are the same program. */
const options = {
  absWorkingDir: packageDir,
  // Chunks beside the entry, one directory below the package root like src/ and dist/
  // (cliVersion reads ../package.json relative to its module).
  chunkNames: "shoal-[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // The other packages' TypeScript sources, as the tests run them (their package.json exports).
  conditions: ["shoal-source"],
  external: EXTERNAL,
  plugins: [stackSchemaDir],
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "none",
  sourcemap: "linked",
  sourcesContent: false,
  // CommonJS dependencies bundled into ES modules call require().
  banner: {
    js: 'import { createRequire as __shoalCreateRequire } from "node:module"; const require = __shoalCreateRequire(import.meta.url);',
  },
  logLevel: "warning",
} satisfies BuildOptions;

await build({ ...options, entryPoints: { shoal: "src/main.ts" }, outdir });

// The manager benchmarks' one-manager process (packages/manager/bench/manager-processes.ts),
// bundled the same way, so that their memory and time figures are of the code `shoal daemon`
// runs. Its own directory and chunks: the command's chunks stay as they are.
const benchOutdir = join(outdir, "manager-main");
await rm(benchOutdir, { recursive: true, force: true });
await build({
  ...options,
  entryPoints: { "manager-main": "../manager/src/manager-main.ts" },
  outdir: benchOutdir,
});
