#!/usr/bin/env -S MALLOC_ARENA_MAX=2 GLIBC_TUNABLES=glibc.malloc.trim_threshold=65536:glibc.malloc.top_pad=0 node --max-semi-space-size=4
// The installed `shoal` command: a fixed entry that exists before the build, so npm can link it.
// It runs the bundle (scripts/bundle.ts). The flags above are for `shoal daemon`, a long-lived
// process: V8 grows its young generation to 2 x 16 MiB under the start-up burst and keeps it
// (half the daemon's idle memory above a bare node). 4 MiB semi-spaces, not 1: with 1 a leader
// holding 100,000 tasks scavenged so often that its store watches fell behind and leadership
// moved (the orchestrator bench never converged); 4 cost ~5 MiB of an idle daemon
// (packages/daemon/README.md, Memory). Installs that start the daemon otherwise (not through this
// file) should pass the same flags and environment; test/support/cluster.ts runs this file.
// MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (V8's GC and compiler helpers,
// libuv's pool) an arena of its own and keeps what was freed in each; two arenas leave the
// daemon ~2 MiB smaller (packages/daemon/README.md, Memory). Its children inherit it (conmon,
// runc: small C programs, unaffected; nats-server is Go, which ignores it).
// GLIBC_TUNABLES: glibc gives the main arena's free top back to the system only above 128 KiB
// (trim_threshold) and grows it 128 KiB beyond each request (top_pad); 64 KiB and none leave the
// idle daemon ~2 MiB smaller (the same README). It replaces any GLIBC_TUNABLES of the caller's.
// `--debug` turns the bundle's source maps on, so stack traces name the TypeScript files and
// lines (they cost MiBs of heap, so only then; NODE_OPTIONS=--enable-source-maps does the same).
if (process.argv.includes("--debug")) process.setSourceMapsEnabled(true);
await import("../dist/shoal.js");
