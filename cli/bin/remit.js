#!/usr/bin/env node
// The `remit` command: the compiled entry point (`npm run build` in cli/, run by `npm install` at the repository's root).
import { main } from '../dist/main.js';

// The one place the CLI reads its environment: main() is given it, as the tests give theirs.
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
