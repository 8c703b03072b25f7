#!/usr/bin/env node
// The installed `shoal` command: a fixed entry that exists before the build, so npm can link it.
import "../dist/main.js";
