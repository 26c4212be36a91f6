#!/usr/bin/env node
// Generates web-client/sdk/protocol.d.ts (TypeScript typedefs for every client and server message)
// from the protocol's JSON Schema in proto/schema/, which is itself generated from the Rust types.
//
//   node web-client/tools/gen-types.mjs           write sdk/protocol.d.ts
//   node web-client/tools/gen-types.mjs --check   exit 1 when sdk/protocol.d.ts is out of date
//
// Only the subset of JSON Schema that schemars emits for our types is understood: `type` (one or a
// list, with "null"), `const`, `enum`, `oneOf`/`anyOf`, `$ref` to `#/$defs/...`, `items`,
// `properties` + `required`, and the `true` schema. Anything else is an error, so a new construct
// in the schema is noticed instead of silently typed as `unknown`.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const webClient = join(here, '..');
const repo = join(webClient, '..');
const schemaDir = join(repo, 'proto', 'schema');
const outFile = join(webClient, 'sdk', 'protocol.d.ts');

/** @param {string} s */
function pascal(s) {
  return s.split(/[_\-\s]+/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** @param {string | undefined} text @param {string} indent */
function doc(text, indent) {
  if (!text) return '';
  const lines = text.split('\n').map((l) => l.replace(/\*\//g, '*\\/'));
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

const KNOWN_KEYS = new Set([
  '$schema', 'title', 'description', 'type', 'const', 'enum', 'oneOf', 'anyOf', '$ref', 'items',
  'properties', 'required', 'format', 'minimum', '$defs', 'default',
]);

/**
 * A TypeScript type expression for a schema.
 * @param {any} schema
 * @param {string} indent
 * @returns {string}
 */
function typeOf(schema, indent) {
  if (schema === true) return 'unknown';
  if (schema === false) return 'never';
  for (const key of Object.keys(schema)) {
    if (!KNOWN_KEYS.has(key)) throw new Error(`gen-types: unsupported schema keyword ${key}`);
  }
  if (schema.$ref) {
    // In 2020-12 a $ref beside other keywords adds to them: an intersection.
    const { $ref, description, ...rest } = schema;
    void description;
    const name = refName($ref);
    return Object.keys(rest).length === 0 ? name : `${name} & ${typeOf(rest, indent)}`;
  }
  if ('const' in schema) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const union = schema.oneOf || schema.anyOf;
  if (union) return union.map((s) => wrap(typeOf(s, indent))).join(' | ');
  // No `type` at all: any JSON value (e.g. OpaqueJson, relayed unchanged).
  if (schema.type === undefined && !schema.properties) return 'unknown';
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return types.map((t) => {
    switch (t) {
      case 'string': return 'string';
      case 'integer':
      case 'number': return 'number';
      case 'boolean': return 'boolean';
      case 'null': return 'null';
      case 'array': return `${wrap(typeOf(schema.items ?? true, indent))}[]`;
      case 'object': return objectType(schema, indent, {});
      default: throw new Error(`gen-types: unsupported type ${t}`);
    }
  }).join(' | ');
}

/** The definition a `$ref` names. @param {string} ref */
function refName(ref) {
  const m = /^#\/\$defs\/(\w+)$/.exec(ref);
  if (!m) throw new Error(`gen-types: unsupported $ref ${ref}`);
  return m[1];
}

/** Parenthesises a union so it can take `[]`. @param {string} t */
function wrap(t) {
  return t.includes(' | ') && !t.startsWith('{') ? `(${t})` : t;
}

/**
 * An object type literal; `extra` adds properties shared by every variant (the client `id`).
 * @param {any} schema @param {string} indent @param {Record<string, any>} extra
 */
function objectType(schema, indent, extra) {
  const props = { ...extra, ...(schema.properties || {}) };
  const required = new Set(schema.required || []);
  const inner = indent + '  ';
  // `type` first: it names the message.
  const names = Object.keys(props).sort((a, b) => (a === 'type' ? -1 : b === 'type' ? 1 : 0));
  const lines = names.map((name) => {
    const p = props[name];
    const opt = required.has(name) ? '' : '?';
    return `${doc(p.description, inner)}${inner}${name}${opt}: ${typeOf(p, inner)};`;
  });
  return `{\n${lines.join('\n')}\n${indent}}`;
}

/**
 * Declarations for one direction's schema: its $defs, one interface per message, the union and a
 * map from `type` to message.
 * @param {any} schema @param {string} prefix @param {string} unionName @param {Map<string, any>} emitted
 */
function direction(schema, prefix, unionName, emitted) {
  let out = '';
  for (const [name, def] of Object.entries(schema.$defs || {})) {
    // Definitions shared by both directions (PeerId, RoomId) are emitted once; they must agree.
    const seen = emitted.get(name);
    if (seen !== undefined) {
      if (JSON.stringify(seen) !== JSON.stringify(def)) {
        throw new Error(`gen-types: $defs/${name} differs between the client and server schema`);
      }
      continue;
    }
    emitted.set(name, def);
    const body = typeOf(def, '');
    out += doc(def.description, '');
    out += body.startsWith('{')
      ? `export interface ${name} ${body}\n\n`
      : `export type ${name} = ${body};\n\n`;
  }
  const shared = schema.properties || {};
  const variants = [];
  for (const v of schema.oneOf) {
    const tag = v.properties?.type?.const;
    if (typeof tag !== 'string') throw new Error(`gen-types: a ${unionName} variant has no type const`);
    const name = prefix + pascal(tag);
    variants.push({ tag, name });
    out += doc(v.description, '');
    const base = v.$ref ? ` extends ${refName(v.$ref)}` : '';
    out += `export interface ${name}${base} ${objectType(v, '', shared)}\n\n`;
  }
  out += doc(schema.description, '');
  out += `export type ${unionName} =${variants.map((v) => `\n  | ${v.name}`).join('')};\n\n`;
  out += `/** Each ${unionName} by its \`type\`. */\nexport interface ${unionName}ByType {\n`;
  out += variants.map((v) => `  ${v.tag}: ${v.name};`).join('\n');
  out += `\n}\n\n`;
  out += `export type ${unionName}Type = ${unionName}['type'];\n\n`;
  return out;
}

export function generate() {
  const client = JSON.parse(readFileSync(join(schemaDir, 'client.schema.json'), 'utf8'));
  const server = JSON.parse(readFileSync(join(schemaDir, 'server.schema.json'), 'utf8'));
  const emitted = new Map();
  let out = `// Generated by web-client/tools/gen-types.mjs from proto/schema/*.json. Do not edit:\n`;
  out += `// run \`node web-client/tools/gen-types.mjs\` after the schema changes.\n\n`;
  out += `// ---- Client -> hub ----\n\n`;
  out += direction(client, 'Client', 'ClientFrame', emitted);
  out += `// ---- Hub -> client ----\n\n`;
  out += direction(server, 'Server', 'ServerMessage', emitted);
  return out.trimEnd() + '\n';
}

function main() {
  const check = process.argv.includes('--check');
  const text = generate();
  const rel = relative(process.cwd(), outFile) || outFile;
  if (check) {
    let current = '';
    try {
      current = readFileSync(outFile, 'utf8');
    } catch {
      // missing counts as out of date
    }
    if (current !== text) {
      console.error(`gen-types: ${rel} is out of date with proto/schema/; run node web-client/tools/gen-types.mjs`);
      process.exit(1);
    }
    console.log(`gen-types: ${rel} is up to date`);
    return;
  }
  writeFileSync(outFile, text);
  console.log(`gen-types: wrote ${rel}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
