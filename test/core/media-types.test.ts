/**
 * The media types table (src/core/files/media-types.generated.ts) gives exactly mime-types'
 * answers: the type of every extension mime-types knows, whether every type of mime-db (and types
 * it does not know) is text, and that the file is what scripts/gen-media-types.mjs makes of the
 * installed mime-types. Through the functions the server types files with (content-type.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import * as mime from 'mime-types';
import { isTextType, typeFromName } from '../../src/core/files/content-type';

/** out/test/core → the repo root (the compiled test runs from out/). */
const REPO = resolve(__dirname, '..', '..', '..');
const isXml = (t: string): boolean => t === 'application/xml' || t.endsWith('+xml');

test('every extension mime-types knows gets its type, in any letter case, and nothing else gets one', () => {
  const extensions = Object.keys(mime.types);
  assert.ok(extensions.length > 1000, `${extensions.length} extensions`);
  // The documented overrides (README, "Type"): .cjs, .ecma and the names mime-types does not know
  // .jsonp, .es6, .jsm are JavaScript; TypeScript's names, .rs and .org are typed by their bytes
  // (content-type.ts, NAME_TYPE_OVERRIDES).
  const js = 'text/javascript';
  const overridden: Record<string, string | undefined> = { cjs: js, ecma: js, jsonp: js, es6: js, jsm: js, ts: undefined, mts: undefined, cts: undefined, tsx: undefined, rs: undefined, org: undefined };
  for (const ext of extensions) {
    const expected = Object.hasOwn(overridden, ext) ? overridden[ext] : mime.lookup(ext);
    assert.equal(typeFromName(`page.${ext}`), expected, ext);
    assert.equal(typeFromName(`/a/b/PAGE.${ext.toUpperCase()}`), expected, ext.toUpperCase());
  }
  for (const [ext, type] of Object.entries(overridden)) assert.equal(typeFromName(`x.${ext}`), type, ext);
  // Names of Object.prototype's members, and what has no extension at all.
  for (const name of ['x.constructor', 'x.__proto__', 'x.toString', 'x.hasOwnProperty', 'x.', 'README', 'x.nosuchext']) {
    assert.equal(typeFromName(name), mime.lookup(name) || undefined, name);
  }
});

test('a type is text exactly when mime-types gives it a charset (or it is XML)', () => {
  const db = createRequire(require.resolve('mime-types'))('mime-db') as Record<string, { charset?: string }>;
  const types = [...Object.keys(db), 'text/x-nosuch', 'TEXT/HTML', 'Application/JSON', 'application/x-nosuch', 'image/x-nosuch', 'constructor', '__proto__', ''];
  for (const type of types) assert.equal(isTextType(type), mime.charset(type) !== false || isXml(type), type);
});

test('the table is what scripts/gen-media-types.mjs makes of the installed mime-types', () => {
  execFileSync(process.execPath, [join(REPO, 'scripts', 'gen-media-types.mjs'), '--check'], { cwd: REPO, stdio: 'pipe', timeout: 30_000 });
});
