#!/usr/bin/env node
'use strict';
// `prisma generate` never runs the schema engine, but the CLI insists that one exists; these
// machines cannot download it, so point the CLI at a harmless executable when none is set.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const schema = path.join(root, 'prisma', 'schema.prisma');
if (!fs.existsSync(schema)) {
  console.log('prisma-generate: no prisma/schema.prisma yet, nothing to generate');
  process.exit(0);
}
const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
const prisma = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
const result = spawnSync(process.execPath, [prisma, 'generate', '--schema', schema], { stdio: 'inherit', env, cwd: root });
process.exit(result.status ?? 1);
