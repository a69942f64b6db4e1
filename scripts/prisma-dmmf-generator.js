#!/usr/bin/env node
'use strict';
// A Prisma generator that writes the parsed schema (DMMF datamodel: models, fields, native types,
// defaults, indexes, enums) as JSON, so test/db/schema-drift.test.ts can compare schema.prisma with
// a migrated database without Prisma's schema engine. Protocol: JSON-RPC requests on stdin, one per
// line; responses on stderr (what @prisma/generator-helper does).
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

function reply(id, result) {
  process.stderr.write(`${JSON.stringify({ jsonrpc: '2.0', id, result })}\n`);
}

function replyError(id, error) {
  process.stderr.write(`${JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message: error.message, data: { stack: error.stack } } })}\n`);
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    return;
  }
  try {
    if (message.method === 'getManifest') {
      reply(message.id, { manifest: { prettyName: 'Prisma DMMF (schema drift test)', defaultOutput: 'dmmf.json', requiresEngines: [] } });
    } else if (message.method === 'generate') {
      const output = message.params.generator.output.value;
      fs.mkdirSync(path.dirname(output), { recursive: true });
      fs.writeFileSync(output, `${JSON.stringify(message.params.dmmf.datamodel, null, 2)}\n`);
      reply(message.id, null);
    }
  } catch (error) {
    replyError(message.id, error);
  }
});
