#!/usr/bin/env node
// Generates from proto/schema/, which is itself generated from the Rust types:
// - web-client/sdk/protocol.d.ts: TypeScript typedefs for every client and server message, from
//   the JSON Schema (client.schema.json, server.schema.json);
// - web-client/sdk/constants.js: the protocol version, the close codes (reason and what a client
//   does next) and the notices replayed after a resume, from constants.json.
//
//   node web-client/tools/gen-types.mjs           write both
//   node web-client/tools/gen-types.mjs --check   exit 1 when either is out of date
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
const typesFile = join(webClient, 'sdk', 'protocol.d.ts');
const constantsFile = join(webClient, 'sdk', 'constants.js');

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

export function generateTypes() {
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

// ---- constants.js ----

const CLOSE_KINDS = ['normal', 'terminal', 'reconnectable'];

/**
 * Close codes the SDK names, by the hub's reason for them (the number comes from the table).
 * @type {{name: string, reason: string, doc: string}[]}
 */
const NAMED_CLOSE_CODES = [
  {
    name: 'RESUME_EXPIRED',
    reason: 'resume_expired',
    doc: 'Close code of a refused `hello.resume`: reconnect at once, without `resume`.',
  },
  {
    name: 'CLIENT_RECONNECTING',
    reason: 'reconnecting',
    doc: 'The close code we send when our heartbeat finds the connection dead: the hub then holds our\n' +
      'seat as for a drop (any other close frame from us is a goodbye), and we resume on a new socket.',
  },
];

/**
 * Checks the shape of constants.json, so that a change to it is noticed here rather than
 * generated into something the SDK misreads.
 * @param {any} c
 * @returns {{protocolVersion: number, closeCodes: {code: number, reason: string, kind: string}[], replayed: string[]}}
 */
function readConstants(c) {
  const fail = (/** @type {string} */ what) => { throw new Error(`gen-types: constants.json: ${what}`); };
  if (!c || typeof c !== 'object') fail('not an object');
  const keys = Object.keys(c).sort().join();
  if (keys !== 'close_codes,protocol_version,replayed_notices') fail(`unexpected keys ${keys}`);
  if (!Number.isInteger(c.protocol_version) || c.protocol_version < 1) fail('protocol_version is not a positive integer');
  if (!Array.isArray(c.close_codes) || c.close_codes.length === 0) fail('close_codes is not a list');
  const seen = new Set();
  const closeCodes = c.close_codes.map((/** @type {any} */ e) => {
    const ek = Object.keys(e ?? {}).sort().join();
    if (ek !== 'code,kind,reason') fail(`a close code has keys ${ek}`);
    if (!Number.isInteger(e.code) || e.code < 1000 || e.code > 4999) fail(`close code ${e.code} is not in 1000..4999`);
    if (typeof e.reason !== 'string' || !/^[a-z0-9_]+$/.test(e.reason)) fail(`close code ${e.code}: reason ${JSON.stringify(e.reason)}`);
    if (!CLOSE_KINDS.includes(e.kind)) fail(`close code ${e.code}: kind ${JSON.stringify(e.kind)}`);
    if (seen.has(e.code)) fail(`close code ${e.code} twice`);
    seen.add(e.code);
    return { code: e.code, reason: e.reason, kind: e.kind };
  }).sort((/** @type {{code: number}} */ a, /** @type {{code: number}} */ b) => a.code - b.code);
  if (!Array.isArray(c.replayed_notices)) fail('replayed_notices is not a list');
  for (const t of c.replayed_notices) {
    if (typeof t !== 'string' || !/^[a-z_]+$/.test(t)) fail(`replayed notice ${JSON.stringify(t)}`);
  }
  return { protocolVersion: c.protocol_version, closeCodes, replayed: [...new Set(c.replayed_notices)].sort() };
}

/** constants.js for the parsed constants.json (default: the one in proto/schema/). @param {unknown} [json] */
export function generateConstants(json = JSON.parse(readFileSync(join(schemaDir, 'constants.json'), 'utf8'))) {
  const { protocolVersion, closeCodes, replayed } = readConstants(json);
  const table = (/** @type {(e: {code: number, reason: string, kind: string}) => string} */ value) =>
    closeCodes.map((e) => `  ${e.code}: ${value(e)},`).join('\n');
  let out = `// Generated by web-client/tools/gen-types.mjs from proto/schema/constants.json. Do not edit:\n`;
  out += `// run \`node web-client/tools/gen-types.mjs\` after the schema changes.\n//\n`;
  out += `// Protocol facts the hub owns (proto/PROTOCOL.md): the protocol version, what each close code\n`;
  out += `// means for a client, and which notices the hub replays after a resumed welcome.\n\n`;
  out += `/** The \`hello.protocol\` this SDK speaks. */\n`;
  out += `export const PROTOCOL_VERSION = ${protocolVersion};\n\n`;
  out += `/** @typedef {'normal' | 'terminal' | 'reconnectable'} CloseKind */\n\n`;
  out += `/** Hub close codes by number, for messages (the hub also sends the reason). */\n`;
  out += `export const CLOSE_REASONS = /** @type {Readonly<Record<number, string>>} */ (Object.freeze({\n`;
  out += `${table((e) => `'${e.reason}'`)}\n}));\n\n`;
  out += `/** What a client does after each close code the hub sends. */\n`;
  out += `const CLOSE_KINDS = /** @type {Readonly<Record<number, CloseKind>>} */ (Object.freeze({\n`;
  out += `${table((e) => `'${e.kind}'`)}\n}));\n\n`;
  out += `/**\n`;
  out += ` * What to do after the socket closed with \`code\` (PROTOCOL.md, "Close codes"): \`terminal\` (the\n`;
  out += ` * same token would fail the same way), \`reconnectable\`, or \`normal\` (the answer to our own\n`;
  out += ` * close). Codes the hub never sends (1006: the connection dropped without a close frame, e.g.\n`;
  out += ` * the network went away) are reconnectable; a 40xx code a newer hub may add is terminal, as\n`;
  out += ` * every 40xx is.\n`;
  out += ` * @param {number} code\n`;
  out += ` * @returns {CloseKind}\n`;
  out += ` */\n`;
  out += `export function closeKind(code) {\n`;
  out += `  return CLOSE_KINDS[code] ?? (code >= 4000 && code < 4100 ? 'terminal' : 'reconnectable');\n`;
  out += `}\n\n`;
  for (const { name, reason, doc: text } of NAMED_CLOSE_CODES) {
    const entry = closeCodes.find((e) => e.reason === reason);
    if (!entry) throw new Error(`gen-types: constants.json has no close code with reason ${reason} (${name})`);
    out += doc(text, '');
    out += `export const ${name} = ${entry.code};\n\n`;
  }
  out += `/**\n`;
  out += ` * The notices the hub keeps for a held seat and sends right after the resumed \`welcome\` (after\n`;
  out += ` * moderators' \`lobby\` and \`hands\`); \`welcome.replayed\` says how many follow.\n`;
  out += ` * @type {ReadonlySet<import('./protocol').ServerMessageType>}\n`;
  out += ` */\n`;
  out += `export const REPLAYED_NOTICES = new Set([${replayed.map((t) => `'${t}'`).join(', ')}]);\n`;
  return out;
}

function main() {
  const check = process.argv.includes('--check');
  let stale = false;
  for (const [file, text] of /** @type {const} */ ([[typesFile, generateTypes()], [constantsFile, generateConstants()]])) {
    const rel = relative(process.cwd(), file) || file;
    if (!check) {
      writeFileSync(file, text);
      console.log(`gen-types: wrote ${rel}`);
      continue;
    }
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // missing counts as out of date
    }
    if (current === text) {
      console.log(`gen-types: ${rel} is up to date`);
    } else {
      console.error(`gen-types: ${rel} is out of date with proto/schema/; run node web-client/tools/gen-types.mjs`);
      stale = true;
    }
  }
  if (stale) process.exit(1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
