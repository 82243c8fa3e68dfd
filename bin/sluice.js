#!/usr/bin/env node
// The `sluice` command; the code lives in src/cli (compiled to dist/ by `npm run build`).
import "../dist/src/cli/main.js";
