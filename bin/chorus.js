#!/usr/bin/env node
'use strict';
// The CLI is compiled by `npm ci` (the root `prepare` script), so `npx chorus` needs no build step.
const path = require('node:path');
const fs = require('node:fs');

const entry = path.join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('chorus: the CLI is not built; run `npm ci` (or `npm run build`) in the project first\n');
  process.exit(1);
}
require(entry);
