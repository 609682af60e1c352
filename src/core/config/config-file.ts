/**
 * `porthole.config.json`: one file at the root of the served folder that the CLI and the editor
 * both read through this module. The file is checked against its JSON Schema
 * (schemas/porthole.config.schema.json, the one VS Code completes the file with) by ajv's
 * standalone validator generated from it, then
 * against what the schema cannot say (header grammar, CIDR ranges, paths that stay in the root:
 * the SPA file and the log file inside it, no mount of a hidden folder).
 * Any problem is a ConfigFileError naming the file, the key and the reason; nothing of an invalid
 * file is used.
 *
 * Keys are the ServerOptions names (`listing`, `timeouts.idleMs`, `reload.ignore`, …) plus the
 * features only the file can spell per path (`headers`). Paths in the file (`logFile`,
 * `reload.watchPaths`) are relative to the served folder.
 */
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { isIP } from 'node:net';
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readSync, readlinkSync, realpathSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ErrorObject } from 'ajv';
import type * as GeneratedValidator from './config-validator.generated';
import { CONFIG_FILE_NAME, DEFAULT_RELOAD, DEFAULT_SPA_FILE, type HeaderRule, type Mount, type OptionLayer } from '../options';
import { isToken, isValidFieldValue } from '../http/http-grammar';
import { isLoopbackBind, parseCidr } from '../access/access-policy';
import { mountsFrom } from '../files/mounts';
import { jsonForDisplay } from '../text/display-text';
import { hiddenSegmentsReason, segmentsInside } from '../files/hidden-names';
import { mayAppendLogLines } from '../text/combined-log';
import { cutAtCharacter } from '../text/display-text';
import { describeFsProblem, nodeKind, noReadPermission } from '../text/fs-problem';
import { nearestName } from '../text/nearest-name';
import { identityOf, isOwnEvent, noWatcherLeft, noteInotifyEvent, onQueueOverflow } from '../reload/live-reload-watcher';

/** The file is larger than any sensible configuration: refused rather than parsed. */
export const MAX_CONFIG_FILE_BYTES = 256 * 1024;
/** Changes of the file are read once it has been quiet this long (an editor's save is several writes). */
export const CONFIG_WATCH_DEBOUNCE_MS = 100;
/** How often a served folder that was removed is looked for, to follow its configuration file again (ms): a build's wipe and rebuild takes seconds. */
export const CONFIG_ROOT_POLL_MS = 1_000;

/** A configuration file that cannot be used: which file, which key, why. */
export class ConfigFileError extends Error {
  readonly code = 'ECONFIG';
  constructor(
    readonly file: string,
    /** Dotted key (`headers[0].source`), or '' for the file as a whole. */
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${file}: ${key === '' ? '' : `${key}: `}${reason}`);
    this.name = 'ConfigFileError';
  }
}

/**
 * Response header names a configuration may not set: they frame the message or belong to one
 * connection (RFC 9112 §6, RFC 9110 §7.6.1), so a wrong value would corrupt the exchange; `Date`
 * and `Server` end every head already (a second one would be a duplicate field).
 */
const FORBIDDEN_HEADER_NAMES = new Set([
  'date',
  'server',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
]);

/**
 * Why a response header field may not be sent as given, or undefined when it may: the name must
 * be a token (RFC 9110 §5.6.2), not one that frames the message, not Server or Date (which
 * Porthole sends on every answer), and not one Porthole sets from each answer (ETag,
 * Last-Modified, Content-Range, Accept-Ranges, Allow, Location); the value a field-value
 * (§5.5: no CR, LF, NUL or other control character, nothing above U+00FF).
 */
export function headerFieldProblem(name: string, value: string): string | undefined {
  if (!isToken(name)) return `"${name}" is not a header name (a token: letters, digits and !#$%&'*+-.^_\`|~)`;
  const lower = name.toLowerCase();
  if (lower === 'server' || lower === 'date') return `Porthole sends ${name} itself on every answer, and an answer has one ${name} field; leave it out`;
  if (FORBIDDEN_HEADER_NAMES.has(lower)) return `${name} frames the message or the connection, which Porthole sets from each answer itself; leave it out`;
  if (lower === 'etag' || lower === 'last-modified') {
    return `${name} is a validator Porthole sets from each file version and encoding (RFC 9110 §8.8); a fixed one would give every version and every encoding of a file one tag or date, so caches could not tell them apart; leave it out`;
  }
  if (lower === 'content-range') return `${name} says which bytes of the file a 206 or 416 answer holds, which Porthole sets from each request's Range itself; leave it out`;
  if (lower === 'accept-ranges') return `${name} says whether the answer's resource takes Range requests, which Porthole sets itself (bytes for files); a fixed one contradicted its 206 answers; leave it out`;
  if (lower === 'location') return `${name} says where a redirect goes, which Porthole sets on its own redirects (a folder asked for without its slash) and a back-end on its own; a fixed one sent every redirect to one place; leave it out`;
  if (lower === 'allow') return `${name} lists the methods the target takes, which Porthole sets itself on a 405 and an OPTIONS answer (RFC 9110 §10.2.1); a fixed one would list others; leave it out`;
  if (!isValidFieldValue(value)) return `the value of ${name} holds a control character (CR, LF, NUL…) or a character above U+00FF`;
  if (/^[ \t]|[ \t]$/.test(value)) return `the value of ${name} begins or ends with a space or tab, which is no part of a field value (RFC 9110 §5.5) and would go on the wire as written; remove it`;
  if (value === '' && (lower === 'content-type' || lower === 'content-encoding')) return `${name} is empty; it names ${lower === 'content-type' ? 'a media type such as text/plain' : 'a content coding such as gzip'} (RFC 9110 §8.3, §8.4); give one, or leave the header out`;
  return undefined;
}

/**
 * Parses a `--header` argument, `Name: value` (the value's surrounding spaces trimmed); returns
 * the pair or the reason it is not one.
 */
export function parseHeaderArgument(text: string): { name: string; value: string } | { error: string } {
  const colon = text.indexOf(':');
  if (colon <= 0) return { error: `"${text}" is not "Name: value"` };
  const name = text.slice(0, colon);
  const value = text.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
  const problem = headerFieldProblem(name, value);
  return problem === undefined ? { name, value } : { error: problem };
}

/** Checks every rule's header fields; throws `fail(key, reason)` for the first bad one. */
export function checkHeaderRules(rules: readonly HeaderRule[], fail: (key: string, reason: string) => never): void {
  rules.forEach((rule, i) => {
    const named = new Map<string, string>();
    for (const [name, value] of Object.entries(rule.headers)) {
      const problem = headerFieldProblem(name, value);
      if (problem !== undefined) fail(`headers[${i}].headers.${name}`, problem);
      // Names are case-insensitive (RFC 9110 §5.1): `X-A` and `x-a` are one field, and the second
      // replaced the first without a word (helper-176).
      const earlier = named.get(name.toLowerCase());
      if (earlier !== undefined) fail(`headers[${i}].headers.${name}`, `${earlier} and ${name} name one field (header names are case-insensitive); give it once`);
      named.set(name.toLowerCase(), name);
    }
  });
}

/**
 * The schema's validator and its lists of keys: ajv's standalone code for
 * schemas/porthole.config.schema.json, generated ahead (scripts/gen-config-validator.mjs; a test
 * checks it matches the schema). Loaded by the first file read: a folder without
 * porthole.config.json (most) never runs its ~45 KB, which building its schema objects at
 * every start made part of the CLI's start-up. The validator stops at the first error and leaves
 * it in `errors`.
 */
function generated(): typeof GeneratedValidator {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./config-validator.generated') as typeof GeneratedValidator;
}

/** The validator of generated(). */
const validate = (data: unknown): boolean => generated().validate(data);
/** The first error of the last validate() that failed. */
const validationError = (): ErrorObject | undefined => (generated().validate as { errors?: ErrorObject[] | null }).errors?.[0];

/** `/headers/0/source` → `headers[0].source`. */
function dottedKey(pointer: string, extra?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/**
 * The keys an object of the file may hold, by its dotted key ('' = the top level): for suggestions.
 * The schema's own lists (generated with its validator), so "did you mean" never names a key the
 * file refuses (`timeouts.bodyMs` was suggested from the server's defaults while the schema refused it).
 */
function knownKeys(parent: string): readonly string[] {
  return (generated().schemaKeys as Readonly<Record<string, readonly string[]>>)[parent.replace(/\[\d+\]/g, '[]')] ?? [];
}

/** ' (did you mean "listing"?)' for a misspelt key, or ''. */
function suggestion(parent: string, key: string): string {
  const near = nearestName(key, knownKeys(parent));
  return near === undefined ? '' : ` (did you mean "${near}"?)`;
}

/** The value at a JSON pointer (`/headers/0`) in `data`, or undefined. */
function valueAt(data: unknown, pointer: string): unknown {
  let at: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** A value from the file as JSON, cut to 60 characters (a message quotes it, never a whole page of it). */
function quoted(value: unknown): string {
  const shown = jsonForDisplay(value) ?? String(value);
  return shown.length > 60 ? `${cutAtCharacter(shown, 57)}…` : shown;
}

/** One ajv error in plain words, with the key it is about (`data`: the file's parsed JSON). */
function describeSchemaError(error: ErrorObject, data: unknown): { key: string; reason: string } {
  const params = error.params as Record<string, unknown>;
  const propertyName = typeof error.propertyName === 'string' ? error.propertyName : undefined;
  if (propertyName !== undefined && error.instancePath === '/mounts') {
    return { key: dottedKey(error.instancePath, propertyName), reason: `"${propertyName}" is not a mount prefix: a URL path starting with / (e.g. "/vendor")` };
  }
  if (propertyName !== undefined) {
    return { key: dottedKey(error.instancePath, propertyName), reason: `"${propertyName}" is not a header name (a token: letters, digits and !#$%&'*+-.^_\`|~)` };
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      if (error.instancePath === '/proxy' && name.startsWith('/')) {
        // The VS Code setting's form ({"/api": "http://…"}) in the file (helper-49).
        return {
          key: dottedKey(error.instancePath, name),
          reason: `is the porthole.proxy setting's form; in this file a route is {"proxy": {"routes": [{"prefix": "${name}", "target": "http://127.0.0.1:3000"}]}}`,
        };
      }
      const hint = suggestion(dottedKey(error.instancePath), name);
      return { key: dottedKey(error.instancePath, name), reason: `is not a Porthole setting${hint || ' (the schema lists every key)'}` };
    }
    case 'required': {
      // The validator stops at its first error, so a misspelt key is reported as the missing one
      // ("header" for "headers": helper-49): name the key the object has instead.
      const missing = String(params.missingProperty);
      const object = valueAt(data, error.instancePath);
      const near = object !== null && typeof object === 'object' ? nearestName(missing, Object.keys(object).filter((k) => k !== missing)) : undefined;
      return { key: dottedKey(error.instancePath, missing), reason: near === undefined ? 'is required' : `is required (the object has "${near}": did you mean "${missing}"?)` };
    }
    case 'enum':
      return { key: dottedKey(error.instancePath), reason: `must be one of ${((params.allowedValues as unknown[] | undefined) ?? []).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'type':
      return { key: dottedKey(error.instancePath), reason: `must be ${jsonTypeNames(String(params.type))}${typeHint(String(params.type), valueAt(data, error.instancePath), error.instancePath)}` };
    case 'pattern':
      if (/\/headers\/\d+\/headers\//.test(error.instancePath)) {
        return { key: dottedKey(error.instancePath), reason: 'holds a control character (CR, LF, NUL…): a header value is one line' };
      }
      if (/^\/proxy\/routes\/\d+\/target$/.test(error.instancePath)) {
        return { key: dottedKey(error.instancePath), reason: 'must be a back-end origin starting with http:// or https://, e.g. "http://127.0.0.1:3000"' };
      }
      if (/^\/proxy\/routes\/\d+\/prefix$/.test(error.instancePath)) {
        return { key: dottedKey(error.instancePath), reason: 'must be a URL path starting with /, e.g. "/api"' };
      }
      if (/^\/cors\/origins\/\d+$/.test(error.instancePath)) {
        // The flag says the same (--cors-origin): an Origin has no path, not even a trailing `/`.
        return { key: dottedKey(error.instancePath), reason: `${quoted(valueAt(data, error.instancePath))} is not an origin: write it as a browser sends it, scheme, host and port with no path (not even a trailing /), e.g. "http://localhost:5173"` };
      }
      if (error.instancePath === '/host' || /^\/allowedHosts\/\d+$/.test(error.instancePath)) {
        return { key: dottedKey(error.instancePath), reason: `${quoted(valueAt(data, error.instancePath))} is not a host: a name or IP address alone, without a scheme, path, spaces or @ (e.g. "127.0.0.1")` };
      }
      return { key: dottedKey(error.instancePath), reason: `is not in the expected form (${String(params.pattern)})` };
    case 'minLength':
      // Every minLength of the schema is 1: an empty string.
      return { key: dottedKey(error.instancePath), reason: Number(params.limit) === 1 ? 'is empty: give a value, or remove it (an absent key takes its default)' : `must be at least ${String(params.limit)} characters` };
    case 'minimum':
    case 'maximum': {
      const value = valueAt(data, error.instancePath);
      return { key: dottedKey(error.instancePath), reason: `must be ${error.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params.limit)} (it is ${jsonForDisplay(value) ?? String(value)})` };
    }
    default:
      return { key: dottedKey(error.instancePath), reason: error.message ?? 'is invalid' };
  }
}

/**
 * What a value of the wrong type is, and how to write it (`data` at `pointer`): ` (it is the
 * string "8080"; write 8080 without quotes)`, with an example for `headers`; '' when there is
 * nothing to add.
 */
function typeHint(expected: string, value: unknown, pointer: string): string {
  if (value === undefined) return '';
  const what = typeof value === 'string' ? `the string ${quoted(value)}` : Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value === 'object' ? 'an object' : `the ${typeof value} ${jsonForDisplay(value) ?? typeof value}`;
  let how = '';
  if (typeof value === 'string' && /number|integer/.test(expected) && /^-?\d+(\.\d+)?$/.test(value)) how = `; write ${value} without quotes`;
  else if (typeof value === 'string' && expected === 'boolean' && (value === 'true' || value === 'false')) how = `; write ${value} without quotes`;
  else if (pointer === '/headers') how = '; e.g. "headers": [{ "source": "**/*.wasm", "headers": { "Cache-Control": "no-store" } }]';
  return ` (it is ${what}${how})`;
}

/** Where the first comment (`//` or `/*`) outside a string is in `text`, as its offset, or -1. */
function firstComment(text: string): number {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) {
      return i;
    }
  }
  return -1;
}

/** "line L, column C" of the offset `at` in `text`. */
function lineAndColumn(text: string, at: number): string {
  const before = text.slice(0, at).split('\n');
  return `line ${before.length}, column ${(before[before.length - 1]?.length ?? 0) + 1}`;
}

/**
 * Why `bytes` (not UTF-8; `text` is their UTF-8 decoding) cannot be read: where the first byte
 * that is not UTF-8 is, as a line and column of the text before it, and that byte in hex. A file
 * that begins with a UTF-16 byte order mark (FF FE, FE FF) is named as UTF-16.
 */
function notUtf8Reason(bytes: Buffer, text: string): string {
  const saveAs = 'save it as UTF-8 (in VS Code: the encoding in the status bar → Save with Encoding → UTF-8)';
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return `is UTF-16 text (it begins with a UTF-16 byte order mark), not UTF-8; ${saveAs}`;
  }
  // The decoded text up to its first U+FFFD that the bytes do not hold as EF BF BD is decoded
  // exactly, so its UTF-8 length is the offset of the first byte that is not UTF-8.
  for (let at = text.indexOf('\uFFFD'); at >= 0; at = text.indexOf('\uFFFD', at + 1)) {
    const offset = Buffer.byteLength(text.slice(0, at), 'utf8');
    if (bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd) continue;
    const hex = (bytes[offset] ?? 0).toString(16).toUpperCase().padStart(2, '0');
    return `is not UTF-8 text: the byte 0x${hex} at ${lineAndColumn(text, at)} is not UTF-8; ${saveAs}`;
  }
  return `is not UTF-8 text; ${saveAs}`;
}

/**
 * The offset of the first JSON syntax error in `text`, for V8's messages that give no position
 * (`Unexpected token 'y', "{"listing":yes}" is not valid JSON`): the shortest prefix that fails
 * for a reason other than ending early (a prefix before the error parses, or fails only at its
 * end), found by bisection, so at most ~20 parses of the file (≤ 256 KiB).
 */
function firstSyntaxError(text: string): number {
  const failsInside = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length));
      return false;
    } catch (err) {
      const message = (err as Error).message;
      if (/Unexpected end of JSON input/.test(message)) return false;
      const at = /position (\d+)/.exec(message);
      return at === null || Number(at[1]) < length;
    }
  };
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (failsInside(mid + 1)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * Where a JSON syntax error is and what it is: "not valid JSON at line L, column C (reason)".
 * The position is the message's when V8 gives one, else found (firstSyntaxError); the reason is
 * V8's without its position or its quote of the file (`Unexpected token 'y'`).
 */
function syntaxLocation(text: string, message: string): string {
  const comment = firstComment(text);
  if (comment >= 0) {
    return `not valid JSON at ${lineAndColumn(text, comment)}: a comment, which JSON does not allow (this file is plain JSON, not JSONC); remove it`;
  }
  const m = /position (\d+)/.exec(message);
  const at = m === null ? firstSyntaxError(text) : Number(m[1]);
  // A comma before `}` or `]` (what JSONC and JavaScript allow): said as one, with the comma's
  // place, where V8 said "Expected double-quoted property name" at the brace (helper-121).
  const comma = trailingCommaBefore(text, at);
  if (comma !== undefined) {
    return `not valid JSON at ${lineAndColumn(text, comma)}: a comma after the last entry, which JSON does not allow; remove it`;
  }
  // A bare word where a value belongs (`tru`, `True`, `yes`, `undefined`): said as one, at its
  // start, where V8 named the byte after it (helper-161: `tru` read "Unexpected token ' '").
  const word = bareWordAt(text, at);
  if (word !== undefined) {
    return `not valid JSON at ${lineAndColumn(text, word.start)}: ${word.text} is no JSON value (a value is true, false, null, a number, "text in double quotes", an object or an array)`;
  }
  const reason = message
    .replace(/( in JSON)? at position \d+.*$/s, '')
    .replace(/, (?:"|\.\.\.").*$/s, '');
  return `not valid JSON at ${lineAndColumn(text, at)} (${reason})`;
}

/** A letter, digit, `_` or `$`: what a bare word (a JavaScript identifier) is made of. */
const WORD_CHAR = /[A-Za-z0-9_$]/;

/**
 * The bare word (letters, digits, `_`, `$`; not starting with a digit or `-`) at or just before
 * `at` in `text`, when it is no JSON literal: V8 stops on its first byte (`yes`) or on the byte
 * after it (`tru`). Undefined otherwise (`true` there is misplaced, not misspelt: V8's words stay).
 */
function bareWordAt(text: string, at: number): { readonly text: string; readonly start: number } | undefined {
  let start = at;
  while (start > 0 && WORD_CHAR.test(text[start - 1] as string)) start--;
  let end = at;
  while (end < text.length && WORD_CHAR.test(text[end] as string)) end++;
  if (end === start) return undefined;
  const word = text.slice(start, end);
  if (/^[0-9]/.test(word) || word === 'true' || word === 'false' || word === 'null') return undefined;
  return { text: word, start };
}

/**
 * JSON Schema type names (`integer`, `integer,null`) as a sentence says them: `an integer`, `an
 * integer or null`, `a boolean`, `an object` (ajv's `must be integer` read as broken English).
 */
function jsonTypeNames(types: string): string {
  return types
    .split(',')
    .map((t) => (t === 'null' ? 'null' : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`))
    .join(' or ');
}

/**
 * The offset of a comma that `at` (where parsing failed) follows with only whitespace between,
 * when `text[at]` is `}` or `]`: a trailing comma; undefined otherwise.
 */
function trailingCommaBefore(text: string, at: number): number | undefined {
  const c = text[at];
  if (c !== '}' && c !== ']') return undefined;
  let i = at - 1;
  while (i >= 0 && /[ \t\r\n]/.test(text[i] ?? '')) i--;
  return text[i] === ',' ? i : undefined;
}

/**
 * The log file's name as the user wrote it (a flag, the file's `logFile`, the setting), before it
 * is resolved — which drops a trailing `/`: `--log logs/` made a file named `logs`. A name ending in
 * a separator names a folder; the log is a file in one.
 */
export function logFileNameProblem(text: string): string | undefined {
  if (!/[/\\]$/.test(text) || (text.endsWith('\\') && process.platform !== 'win32')) return undefined;
  const folder = text.replace(/[/\\]+$/, '');
  return `ends in "${text.slice(-1)}", which names a folder, not a file; name a file in it (e.g. ${folder === '' ? '' : `${folder}/`}access.log)`;
}

/**
 * The first name given twice in one object of `json` (text JSON.parse accepted), as its dotted key
 * (`reload.debounceMs`, `headers[0].source`) and the offsets of both occurrences; undefined when
 * every object's names are unique. RFC 8259 §4 leaves duplicate names to the parser: JSON.parse
 * keeps the last silently, so `{"listing": false, …, "listing": true}` lost the first without a
 * word, where every unknown key is an error. One pass over the text, no allocation per value.
 */
function firstDuplicateKey(json: string): { key: string; first: number; again: number } | undefined {
  // One frame per open object or list: an object's names seen (name → offset) and its current
  // name; a list's current index.
  type Frame = { names: Map<string, number>; name: string | undefined; expectName: boolean } | { index: number };
  const stack: Frame[] = [];
  const keyOf = (extra: string): string => {
    let pointer = '';
    for (const f of stack) pointer += 'index' in f ? `/${f.index}` : f.name === undefined ? '' : `/${f.name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    return dottedKey(pointer, extra);
  };
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++;
      const top = stack[stack.length - 1];
      if (top !== undefined && !('index' in top) && top.expectName) {
        const name = JSON.parse(json.slice(start, i + 1)) as string;
        const seen = top.names.get(name);
        top.expectName = false;
        if (seen !== undefined) {
          top.name = undefined;
          return { key: keyOf(name), first: seen, again: start };
        }
        top.names.set(name, start);
        top.name = name;
      }
    } else if (c === '{') {
      stack.push({ names: new Map(), name: undefined, expectName: true });
    } else if (c === '[') {
      stack.push({ index: 0 });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top === undefined) continue;
      if ('index' in top) top.index++;
      else top.expectName = true;
    }
  }
  return undefined;
}

/**
 * The options a configuration file's text holds, checked (schema, header grammar, CIDR ranges,
 * paths). `root` is the served folder: relative paths in the file are taken from it.
 * Throws ConfigFileError(file, key, reason).
 */
export function parseConfigText(text: string, file: string, root: string): OptionLayer {
  const fail = (key: string, reason: string): never => {
    throw new ConfigFileError(file, key, reason);
  };
  let data: unknown;
  const json = text.replace(/^\uFEFF/, '');
  // Said of the file as a whole (key ''): "porthole.config.json: is empty…", not "…: (the file): is
  // empty…" (helper-147).
  if (json.trim() === '') fail('', 'is empty: write {} for no options, or delete the file');
  try {
    data = JSON.parse(json);
  } catch (err) {
    fail('', syntaxLocation(json, (err as Error).message));
  }
  const twice = firstDuplicateKey(json);
  if (twice !== undefined) {
    fail(
      twice.key,
      `is given twice in one object (${lineAndColumn(json, twice.first)} and ${lineAndColumn(json, twice.again)}): JSON keeps only the last one, so the first would be ignored without a word; remove one`,
    );
  }
  if (!validate(data)) {
    const first = validationError();
    if (first === undefined) fail('', 'does not match its schema');
    const { key, reason } = describeSchemaError(first as ErrorObject, data);
    fail(key, reason);
  }
  const raw = data as {
    [key: string]: unknown;
    host?: string;
    allowedHosts?: string[];
    followSymlinks?: boolean;
    proxy?: { routes?: { prefix: string; target: string }[] };
    cors?: { enabled?: boolean; origins?: string[] };
    crossSiteLoads?: boolean;
    logFile?: string;
    allowedClients?: string[];
    headers?: HeaderRule[];
    reload?: { enabled?: boolean; ignore?: string[]; debounceMs?: number; watchPaths?: string[] };
    spa?: boolean | string;
    mounts?: Record<string, string>;
  };
  (raw.allowedClients ?? []).forEach((cidr, i) => {
    try {
      parseCidr(cidr);
    } catch (err) {
      fail(`allowedClients[${i}]`, (err as Error).message);
    }
  });
  checkHeaderRules(raw.headers ?? [], fail);
  let spa: string | undefined;
  if (raw.spa === true) spa = DEFAULT_SPA_FILE;
  else if (typeof raw.spa === 'string') {
    const problem = spaFileProblem(raw.spa);
    if (problem !== undefined) fail('spa', problem);
    spa = raw.spa;
  }
  // Mount folders, like logFile, are taken from the served folder.
  const mounts = raw.mounts === undefined ? undefined : mountsFrom(raw.mounts, root);
  if (typeof mounts === 'string') fail('mounts', mounts);
  // The file comes with the folder (a cloned repository may hold one): what it names is held to
  // the serving rules, where a flag or a setting, the user's own choice, is not.
  for (const m of (mounts as Mount[] | undefined) ?? []) {
    const problem = hiddenFolderProblem(root, m.folder, raw.dotfiles === true);
    if (problem !== undefined) fail(`mounts.${m.prefix}`, `${problem}: a porthole.config.json cannot mount a hidden folder (use --mount if you mean it)`);
    if (!folderInside(root, m.folder)) {
      fail(`mounts.${m.prefix}`, `"${raw.mounts?.[m.prefix] ?? m.folder}" is outside the served folder: a porthole.config.json mounts only folders inside the folder it comes with (use --mount or the porthole.mounts setting for another folder)`);
    }
  }
  checkReach(raw, fail);
  checkCrossSiteReach(raw, fail);
  const logNameProblem = raw.logFile === undefined ? undefined : logFileNameProblem(raw.logFile);
  if (logNameProblem !== undefined) fail('logFile', `"${raw.logFile}" ${logNameProblem}`);
  if (raw.logFile !== undefined && !writesInside(root, resolve(root, raw.logFile))) {
    fail('logFile', `"${raw.logFile}" is outside the served folder: a porthole.config.json writes its log only inside the folder it comes with (use --log or the porthole.log.file setting for another place)`);
  }
  const rootReal = realPathOr(root, root);
  for (const folder of raw.reload?.watchPaths ?? []) {
    // A folder beside this one (a back-end's templates: ../templates) is what the key is for; the
    // folder itself is watched already, and one that holds it (`..`, `/`, the home folder) would
    // walk and watch everything beside it too (`/`: 90,000 folders, 6 s before listening).
    const abs = resolve(root, folder);
    // Not there (yet): watched when it appears, by its path.
    const real = realPathOr(abs, undefined);
    if (segmentsInside(root, abs) !== undefined || (real !== undefined && segmentsInside(rootReal, real) !== undefined)) {
      fail('reload.watchPaths', `"${folder}" holds the served folder (it would walk and watch every folder beside it too): a porthole.config.json watches folders beside it, e.g. "../templates" (use --watch if you mean it)`);
    }
  }
  if (raw.logFile !== undefined) {
    const problem = logFileProblem(root, resolve(root, raw.logFile));
    // The flag or the setting may write where the folder's own file may not; no log is a pipe.
    if (problem !== undefined) fail('logFile', `"${raw.logFile}" ${problem.text}${problem.flagMay ? ' (use --log or the porthole.log.file setting if you mean it)' : ''}`);
  }
  const options: Record<string, unknown> = { ...raw };
  delete options.$schema;
  return {
    ...(options as OptionLayer),
    logFile: raw.logFile === undefined ? undefined : resolve(root, raw.logFile),
    reload:
      raw.reload === undefined
        ? undefined
        : {
            ...raw.reload,
            ignore: raw.reload.ignore === undefined ? undefined : [...DEFAULT_RELOAD.ignore, ...raw.reload.ignore],
            // Folders in the file, like logFile, are taken from the served folder.
            watchPaths: raw.reload.watchPaths?.map((p) => resolve(root, p)),
          },
    spa,
    mounts: mounts as Mount[] | undefined,
  };
}

/**
 * Why `folder` (absolute), named by a config file as a mount, is hidden, or undefined: a segment
 * on the way from `root` to it, by its path and, when it exists, by its real path from the root's
 * real path, is `.git` (never served) or, without `dotfiles`, any other dot-name. A file cannot
 * mount `.git` or `~/.ssh`; a sibling (`../common-lib`) stays allowed.
 */
function hiddenFolderProblem(root: string, folder: string, dotfiles: boolean): string | undefined {
  const windows = sep === '\\';
  const below = (from: string, to: string): string[] => relative(from, to).split(sep).filter((s) => s !== '' && s !== '..');
  const lexical = hiddenSegmentsReason(below(root, folder), dotfiles, windows);
  if (lexical !== undefined) return lexical;
  let real: string;
  let rootReal: string;
  try {
    real = realPath(folder);
    rootReal = realPath(root);
  } catch {
    return undefined; // a missing folder is said later, by the mount check
  }
  return hiddenSegmentsReason(below(rootReal, real), dotfiles, windows);
}

/**
 * What a file that comes with the folder may not ask for, since it would reach past this machine
 * or past the folder (a cloned repository's file is not the user's choice): a bind address other
 * than loopback (sharing on the network), host names to answer to (a name an attacker points at
 * 127.0.0.1 would let their pages read the folder: DNS rebinding), following symlinks out of the
 * folder, and a proxy route to a back-end on another machine (the page could read that machine's
 * answers as its own). Each names the flag or setting that does it as the user's own choice.
 */
function checkReach(
  raw: { host?: string; allowedHosts?: string[]; followSymlinks?: boolean; proxy?: { routes?: { prefix: string; target: string }[] } },
  fail: (key: string, reason: string) => never,
): void {
  if (raw.host !== undefined && !onThisMachine(raw.host)) {
    fail('host', `"${raw.host}" would share the folder on the network: a porthole.config.json cannot do that (use --host, or Porthole: Share on Network in VS Code, if you mean it)`);
  }
  if (raw.allowedHosts !== undefined && raw.allowedHosts.length > 0) {
    fail('allowedHosts', 'a porthole.config.json cannot add host names to answer to: a name that points at this machine would let other sites\' pages read the folder (use --allowed-host or the porthole.allowedHosts setting)');
  }
  if (raw.followSymlinks === true) {
    fail('followSymlinks', 'a porthole.config.json cannot serve what symlinks lead to outside the folder (use --follow-symlinks or the porthole.followSymlinks setting)');
  }
  (raw.proxy?.routes ?? []).forEach((route, i) => {
    let host: string;
    try {
      host = new URL(route.target).hostname;
    } catch {
      return; // the proxy room's own check says why
    }
    if (!onThisMachine(host)) {
      fail(`proxy.routes[${i}].target`, `"${route.target}" is on another machine: a porthole.config.json proxies only to this machine (use --proxy ${route.prefix}=${route.target} or the porthole.proxy setting)`);
    }
  });
}

/**
 * True for a loopback IP literal (any spelling isLoopbackBind knows, bracketed or not) or exactly
 * `localhost`: never a name the resolver is asked about (`localhost.` goes to DNS, which may
 * answer anything).
 */
function onThisMachine(host: string): boolean {
  return isLoopbackBind(host) && (isIP(host.replace(/^\[(.*)\]$/, '$1')) !== 0 || host.toLowerCase() === 'localhost');
}

/** True for an origin (`http://localhost:5173`) whose host is this machine's loopback. */
function loopbackOrigin(origin: string): boolean {
  try {
    return isLoopbackBind(new URL(origin).hostname);
  } catch {
    return false;
  }
}

/**
 * The other half of the file's reach: what would let other sites' pages read the folder in the
 * user's browser (a default-on CORS in a peer became a CVE). The file may let this machine's own
 * origins in (a dev server on localhost:5173), never any origin or another machine's: CORS for
 * every origin or a remote one, cross-site loads, or an Access-Control-Allow-Origin header of its
 * own. Each names the flag or setting that does it as the user's own choice.
 */
function checkCrossSiteReach(
  raw: { cors?: { enabled?: boolean; origins?: string[] }; crossSiteLoads?: boolean; headers?: HeaderRule[] },
  fail: (key: string, reason: string) => never,
): void {
  if (raw.cors?.enabled === true) {
    const origins = raw.cors.origins ?? [];
    if (origins.length === 0) {
      fail('cors.origins', 'empty (every origin): a porthole.config.json may let only this machine\'s origins read the folder, e.g. ["http://localhost:5173"] (use --cors or the porthole.cors settings for any origin)');
    }
    origins.forEach((origin, i) => {
      if (!loopbackOrigin(origin)) {
        fail(`cors.origins[${i}]`, `"${origin}" is another machine's: a porthole.config.json may let only this machine's origins read the folder (use --cors-origin or the porthole.cors.origins setting)`);
      }
    });
  }
  if (raw.crossSiteLoads === true) {
    fail('crossSiteLoads', 'a porthole.config.json cannot let other sites load the folder\'s files (use --allow-cross-site or the porthole.crossSiteLoads setting)');
  }
  (raw.headers ?? []).forEach((rule, i) => {
    for (const [name, value] of Object.entries(rule.headers)) {
      if (name.toLowerCase() === 'access-control-allow-origin' && !loopbackOrigin(value.trim())) {
        fail(`headers[${i}].headers.${name}`, `"${value}" would let other sites read the folder: a porthole.config.json may name only this machine's origins (use cors with origins, or --header)`);
      }
    }
  });
}

/**
 * True when `folder` (absolute), a config file's mount or its log's folder, is the served folder
 * or inside it: by its path, and by its real path when it exists (a symlinked folder cannot lead
 * the mount or the writes out).
 */
function folderInside(root: string, folder: string): boolean {
  if (segmentsInside(folder, root) === undefined) return false;
  try {
    return segmentsInside(realPath(folder), realPath(root)) !== undefined;
  } catch {
    return true; // a missing folder (or root) is said later, by the mount check or the start
  }
}

/**
 * The real path as the kernel resolves it (libc realpath(3): each link followed before a `..`
 * after it is applied). Not fs.realpathSync, Node's JavaScript walk: it resolves a link's target
 * with path.resolve, which drops `sub/up/..` as text, so a link `m -> sub/up/..` where `sub/up`
 * leads out looked inside to it (helper-47: a mount served /etc/passwd and the root's .git).
 * Throws as realpath does (a missing path).
 */
function realPath(path: string): string {
  return realpathSync.native(path);
}

/** realPath, or `otherwise` when it cannot be told (nothing there, no access). */
function realPathOr<T>(path: string, otherwise: T): string | T {
  try {
    return realPath(path);
  } catch {
    return otherwise;
  }
}

/**
 * True when `file` (absolute), a config file's logFile, is inside `root`: by its path, by the real
 * path of its nearest existing folder (a symlinked folder cannot lead the writes out), and it is
 * not itself a symlink (opening it for appending would follow it out: helper-47).
 */
function writesInside(root: string, file: string): boolean {
  return logPlaceOutside(root, file) === undefined;
}

/**
 * Why a config file's log file `file` (absolute) would be written outside `root`, after "it" (for
 * RequestLog.openFile's place rule), or undefined when it stays inside: lexically, by the real
 * path of its nearest existing folder, and not being a symbolic link itself. Asked at every open
 * of the log, not only when the file is read: a log removed while the server runs is made again,
 * and by then its folder may be a link out of the folder (a `git checkout` of a branch where
 * `logs` is a link: helper-140 had lines a client wrote, `$(…)` and all, appended to a script
 * outside the folder). Looks at the disk (lstat, realpath), synchronously; never throws.
 */
export function logPlaceOutside(root: string, file: string): string | undefined {
  const outside = `leads outside the served folder ${root}, where a porthole.config.json may not write its log`;
  if (segmentsInside(file, root) === undefined || file === root) return outside;
  try {
    if (lstatSync(file).isSymbolicLink()) return `is a symbolic link (to ${readlinkOr(file)}), which a porthole.config.json's log may not follow: it could lead outside the served folder ${root}`;
  } catch {
    // Not there yet: made by the server, in the folder checked below.
  }
  let folder = dirname(file);
  while (!existsSync(folder) && folder !== root) folder = dirname(folder);
  if (folderInside(root, folder)) return undefined;
  return `is in ${folder}, whose real path ${realPathOr(folder, '(unknown)')} ${outside}`;
}

/**
 * Why a config file's log file, opened, may not be written (after "it", for RequestLog.openFile's
 * place rule), or undefined: `realPath` is where the kernel opened it, which must lie inside the
 * real path of `root` (a folder on its path swapped for a link out and back around the open shows
 * only here: helper-143 had 146,993 lines written outside while every look at the path saw the
 * folder), and `links` its number of names, which must be one: a hard link's other name may lie
 * outside the folder, where the lines would go too.
 */
export function logOpenedOutside(root: string, realPath: string, links: number): string | undefined {
  const rootReal = realPathOr(root, root);
  if (segmentsInside(realPath, rootReal) === undefined) {
    return `was opened at ${realPath}, outside the served folder ${root} (a folder on its path was a link out at that moment), where a porthole.config.json may not write its log`;
  }
  if (links > 1) return `has ${links} names (hard links), and another may lie outside the served folder ${root}: a porthole.config.json's log has one name only`;
  return undefined;
}

/** The target a symbolic link names, as written, or "?" when it cannot be read. */
function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
}

/**
 * Why a config file's logFile (absolute, inside `root`) may not be appended to, or undefined.
 * Clients choose part of every line (the target, Referer, User-Agent: escaped for a log, not for
 * a shell or a config parser), so the file may neither lie in a hidden folder or be a hidden file
 * (`.git/config`, `.git/hooks/…`: never served, and not the folder's to give) nor be an existing
 * file that is not a request log already (index.html, porthole.config.json, a script), nor a
 * named pipe, a socket or a device (looked at without waiting for a pipe's writer). `flagMay`:
 * --log or the porthole.log.file setting may still name it (not so a pipe or a device).
 */
function logFileProblem(root: string, file: string): { readonly text: string; readonly flagMay: boolean } | undefined {
  const segments = segmentsInside(file, root) ?? [];
  if (segments.some((s) => s.startsWith('.'))) {
    return { text: 'is in a hidden folder or is a hidden file: a porthole.config.json may not write there (.git and the like are never the log\'s place)', flagMay: true };
  }
  let first: string;
  let fd: number;
  try {
    // Non-blocking: a named pipe there (a downloaded folder may hold one) blocked this open for
    // ever, on the main thread (the CLI's start, the extension host).
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
  } catch {
    return undefined; // not there yet: the server makes it
  }
  try {
    const st = fstatSync(fd);
    // (A folder is said by the server's own open: "it is a folder; name a file in it".)
    if (!st.isFile() && !st.isDirectory()) {
      return { text: `is ${nodeKind(st)}, not a regular file: the request log is a regular file; name one (e.g. access.log, or logs/access.log in a logs folder that exists)`, flagMay: false };
    }
    const head = Buffer.alloc(512);
    first = head.subarray(0, readSync(fd, head, 0, head.length, 0)).toString('latin1');
  } catch {
    return undefined; // unreadable: the server's own open says why
  } finally {
    closeSync(fd);
  }
  if (mayAppendLogLines(first)) return undefined;
  return {
    text: 'is a file of the folder that is not a request log: a porthole.config.json may not append log lines to it (name a new file, e.g. access.log, or logs/access.log in a logs folder that exists)',
    flagMay: true,
  };
}

/**
 * Why an SPA fallback path cannot be used (absolute, leaving the root, naming the root itself), or
 * undefined. Its `.` and `..` segments are resolved first, as a URL's are: `dir/../app.html` is
 * `app.html`, in the folder; `../app.html` and `dir/../../app.html` climb out of it.
 */
export function spaFileProblem(path: string): string | undefined {
  if (path.trim() === '') return 'names no file';
  if (isAbsolute(path) || /^[\\/]/.test(path)) return `"${path}" must be relative to the served folder (e.g. index.html)`;
  const segments = spaFileSegments(path);
  if (segments === undefined) return `"${path}" leaves the served folder; name a file inside it (e.g. index.html)`;
  if (segments.length === 0) return `"${path}" names the served folder itself, not a file; name a page in it (e.g. index.html)`;
  return undefined;
}

/**
 * The segments of a relative path a person named (the SPA fallback file; `/` or `\\` separators),
 * empty ones and `.` dropped and `..` resolved: `app/../index.html` → `['index.html']`. Undefined
 * when a `..` climbs above the folder it is relative to (spaFileProblem's refusal; no `..` is ever
 * resolved at the folder's top into a name inside it).
 */
export function spaFileSegments(path: string): string[] | undefined {
  const segments: string[] = [];
  for (const segment of path.split(/[\\/]/)) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') segments.push(segment);
    else if (segments.pop() === undefined) return undefined;
  }
  return segments;
}

/** The configuration file of a served folder: its path, and its options (none when it is absent). */
export interface ConfigFile {
  readonly path: string;
  /** undefined: there is no file (every option is the caller's or the default). */
  readonly options: OptionLayer | undefined;
  /** The text read (to tell a real change from a touch). */
  readonly text: string | undefined;
}

/**
 * The bytes of the regular file at `path` (symlinks followed), at most `max` of them. Opened
 * without waiting for a writer (O_NONBLOCK: a named pipe would hold a thread of libuv's pool, and
 * the start, for ever). Throws an error whose `code` is ENOTFILE for what is no regular file (a
 * pipe, a device such as /dev/zero, a socket), EISDIR for a folder, EFBIG (message: "is N bytes;
 * a configuration file is at most max") for a larger file, else open's or read's own.
 */
async function readRegularFile(path: string, max: number): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw Object.assign(new Error(`${path} is a folder`), { code: 'EISDIR' });
    if (!st.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTFILE' });
    const tooLarge = (size: number): Error => Object.assign(new Error(`is ${size} bytes; a configuration file is at most ${max}`), { code: 'EFBIG' });
    if (st.size > max) throw tooLarge(st.size);
    // One byte more than allowed tells a file that grew since stat() from one that did not.
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > max) throw tooLarge(length);
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/**
 * Reads `<root>/porthole.config.json`. No file → `options: undefined`. Throws ConfigFileError for
 * an unreadable (saying what to do), oversized or invalid file. The caller checks first that the
 * root itself can be opened: an error of the root is not this file's.
 */
export async function readConfigFile(root: string): Promise<ConfigFile> {
  const path = join(root, CONFIG_FILE_NAME);
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, MAX_CONFIG_FILE_BYTES);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: the root is not a folder; the root's own check says so in plain words.
    if (code === 'ENOENT' || code === 'ENOTDIR') return { path, options: undefined, text: undefined };
    if (code === 'EISDIR') throw new ConfigFileError(path, '', 'is a folder, not a file; rename the folder, or start without the file (--no-config, or the porthole.configFile setting off)');
    if (code === 'EACCES' || code === 'EPERM') {
      throw new ConfigFileError(path, '', `cannot be read: ${noReadPermission(path, code)}; or start without it (--no-config, or the porthole.configFile setting off)`);
    }
    if (code === 'ENOTFILE') {
      throw new ConfigFileError(path, '', 'is not a regular file (a pipe, a device or a socket); replace it with a file, or start without it (--no-config, or the porthole.configFile setting off)');
    }
    if (code === 'EFBIG') throw new ConfigFileError(path, '', (err as Error).message);
    throw new ConfigFileError(path, '', `cannot be read: ${describeFsProblem(err)}; or start without it (--no-config, or the porthole.configFile setting off)`);
  }
  const text = bytes.toString('utf8');
  // UTF-8 is told by the bytes (RFC 8259 §8.1: JSON text is UTF-8), never by a U+FFFD in the
  // decoded text: a file may hold that character itself, and a byte that is not UTF-8 inside a
  // string would otherwise become one without a word (a log file named `caf\uFFFD.log`).
  if (!isUtf8(bytes)) throw new ConfigFileError(path, '', notUtf8Reason(bytes, text));
  return { path, options: parseConfigText(text, path, root), text };
}

/**
 * Calls `onChange` (debounced) when `<root>/porthole.config.json` is created, changed or removed.
 * Watches the folder, not the file: editors save by writing a new file and renaming it over the
 * old one, which a watch on the file itself would lose. The folder itself removed or moved (a
 * build that wipes it) ends that watch, even where a folder is made again under its name at once
 * with the same inode number: it is then watched again, or, while it is not there, looked for
 * every CONFIG_ROOT_POLL_MS, and the file is read again once it is back. A file that is a symbolic
 * link (`porthole.config.json -> config/dev.json`) is read where it leads, so the folder of the
 * file it leads to is watched too, for that file's name (an edit there changed nothing in the root:
 * it was never read); the link re-pointed (`ln -sfn`) moves that watch where it leads now. Once a
 * watch has begun, `onChange` runs once CONFIG_WATCH_DEBOUNCE_MS later whatever happened (with any
 * change seen meanwhile): an edit saved since the caller's read of the file is read then. Returns
 * the watcher's closer; a folder that cannot be watched returns a no-op and reports through `onError`.
 */
export function watchConfigFile(root: string, onChange: () => void, onError: (message: string) => void): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  /** While the file is a symbolic link: the file it leads to (absolute) and the watch on its folder. */
  let target: { readonly file: string; readonly watcher: FSWatcher | undefined } | undefined;
  let closed = false;
  const configPath = join(root, CONFIG_FILE_NAME);
  /**
   * Where the file leads now when it is a symbolic link (the real path; for a link that leads
   * nowhere yet, where its text points), else undefined.
   */
  const linkedFile = (): string | undefined => {
    try {
      if (lstatSync(configPath, { throwIfNoEntry: false })?.isSymbolicLink() !== true) return undefined;
      try {
        return realpathSync.native(configPath);
      } catch {
        return resolve(dirname(configPath), readlinkSync(configPath));
      }
    } catch {
      return undefined;
    }
  };
  /** Watches the folder of the file the link leads to (or nothing when it is no link), once per place. */
  const followLink = (): void => {
    const file = closed ? undefined : linkedFile();
    if (file === target?.file) return;
    target?.watcher?.close();
    target = undefined;
    if (file === undefined) return;
    const folder = dirname(file);
    const name = basename(file);
    let w: FSWatcher | undefined;
    const folderIdentity = identityOf(folder);
    try {
      w = watch(folder, { persistent: false }, (event, changedName) => {
        noteInotifyEvent();
        if (closed || target?.watcher !== w) return;
        // Its folder removed or moved: this watch is dead; looked for again where the link leads now.
        if (isOwnEvent(folder, folderIdentity, event, changedName)) {
          w?.close();
          target = { file, watcher: undefined };
          changed();
          return;
        }
        if (changedName !== null && changedName.toString() !== name) return;
        changed();
      });
      w.on('error', () => w?.close());
    } catch {
      // Its folder is not there (yet) or not readable: looked for again at the next change of the link.
      w = undefined;
    }
    target = { file, watcher: w };
  };
  const changed = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      // The link may have been made, removed or re-pointed (or where it leads made again).
      if (target?.watcher === undefined) target = undefined;
      followLink();
      onChange();
    }, CONFIG_WATCH_DEBOUNCE_MS);
    timer.unref();
  };
  /** Waits for the folder to be there again (a poll), then watches it and reads the file again. */
  const awaitFolder = (): void => {
    poll ??= setInterval(() => {
      if (closed || !start(false)) return;
      clearInterval(poll);
      poll = undefined;
      changed();
    }, CONFIG_ROOT_POLL_MS).unref();
  };
  /** Watches the folder; false when it cannot be (not there, or not readable now: said when `report`). */
  const start = (report: boolean): boolean => {
    const rootIdentity = identityOf(root);
    try {
      const w = watch(root, { persistent: false }, (event, name) => {
        noteInotifyEvent();
        if (closed || w !== watcher) return;
        if (isOwnEvent(root, rootIdentity, event, name)) {
          w.close();
          watcher = undefined;
          changed();
          if (!start(false)) awaitFolder();
          return;
        }
        if (name !== null && name.toString() !== CONFIG_FILE_NAME) return;
        changed();
      });
      w.on('error', (err) => onError(`stopped following changes of ${join(root, CONFIG_FILE_NAME)}: ${err.message}`));
      watcher = w;
      return true;
    } catch (err) {
      if (report) onError(`cannot follow changes of ${join(root, CONFIG_FILE_NAME)}: ${noWatcherLeft(err) ?? (err as Error).message}`);
      return false;
    }
  };
  if (!start(true)) return { close: () => undefined };
  followLink();
  // An edit saved after the caller read the file and before this watch began reached no watcher
  // (a server's start; a cluster's later workers, which start with what the first read): the file
  // is read once more, as at a change, one quiet period from now. A change seen meanwhile is the
  // same read: read at once beside the change's, an edit saved as the server started was said
  // twice, and a save caught half-written (helper-167).
  changed();
  // The kernel's inotify queue overflowed (a checkout or a build while the loop was busy): the
  // file's events may be lost, and its folder's or its link's removal with them. Both are watched
  // again (a new watch of the same folder first: libuv keeps one inotify watch per inode, so the
  // old one closes at no kernel cost) and the file is read again.
  const stopListening = onQueueOverflow(() => {
    if (closed) return;
    const old = watcher;
    watcher = undefined;
    if (poll === undefined && !start(false)) awaitFolder();
    old?.close();
    if (target !== undefined) {
      target.watcher?.close();
      target = { file: target.file, watcher: undefined };
    }
    changed();
  });
  return {
    close: () => {
      closed = true;
      stopListening();
      if (timer !== undefined) clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
      watcher?.close();
      target?.watcher?.close();
      target = undefined;
    },
  };
}
