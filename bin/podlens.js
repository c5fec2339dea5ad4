#!/usr/bin/env node
// podlens CLI launcher: runs the bundled CLI (build it with `npm run compile`).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const bundle = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('podlens: dist/cli.js is missing; run `npm run compile` first\n');
  process.exit(1);
}
require(bundle)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
