/**
 * porthole.config.json at the root, over real sockets: its options apply; the caller's options
 * (CLI flags, editor settings) override it; an invalid file fails the start naming the file, the
 * key and the reason; edits are followed (applied live, reported as `restart` when the binding
 * changes, kept out when invalid).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_FILE_NAME, ServerError, resolveOptionsWithConfigFile, type ConfigFileChange } from '../../src/core';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONFIG_ROOT_POLL_MS, logOpenedOutside, logPlaceOutside } from '../../src/core/config/config-file';
import { RequestLog } from '../../src/core/log/request-log';
import { startServer, type Running } from './harness';
import { startBackend } from '../fixtures/backend';
import { fetchOnce, request, withTimeout } from './raw-client';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

let base: string;
let count = 0;
const servers: Running[] = [];

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'porthole-config-'));
});

after(async () => {
  for (const s of servers) await s.close();
  await rm(base, { recursive: true, force: true });
});

/** A fresh root with index.html, a folder without index, and `config` as its porthole.config.json. */
async function rootWith(config: unknown): Promise<string> {
  const root = join(base, `r${++count}`);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(root, 'folder'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><p>index</p>');
  await writeFile(join(root, 'folder', 'a.txt'), 'a');
  await writeFile(join(root, CONFIG_FILE_NAME), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return root;
}

async function serve(input: Parameters<typeof startServer>[0]): Promise<Running> {
  const running = await startServer(input);
  servers.push(running);
  return running;
}

test('the file configures the server: listing, headers, CORS, SPA', async () => {
  const root = await rootWith({
    $schema: './node_modules/porthole/schemas/porthole.config.schema.json',
    listing: false,
    headers: [{ source: '**/*.txt', headers: { 'X-From-File': 'yes' } }],
    cors: { enabled: true, origins: ['http://localhost:5173'] },
    spa: true,
  });
  const s = await serve({ root });
  assert.equal((await fetchOnce(s.port, request('/folder/'))).status, 404, 'listing: false');
  const txt = await fetchOnce(s.port, request('/folder/a.txt', { headers: ['Origin: http://localhost:5173'] }));
  assert.equal(txt.header('x-from-file'), 'yes');
  assert.equal(txt.header('access-control-allow-origin'), 'http://localhost:5173');
  const other = await fetchOnce(s.port, request('/folder/a.txt', { headers: ['Origin: http://x.example'] }));
  assert.equal(other.header('access-control-allow-origin'), undefined, 'only the origins listed');
  const deep = await fetchOnce(s.port, request('/deep/link', { headers: ['Sec-Fetch-Dest: document'] }));
  assert.equal(deep.status, 200);
  assert.match(deep.body.toString(), /index/);
});

test('options given by the caller (flags, settings) override the file; absent ones do not', async () => {
  const root = await rootWith({ listing: false, dotfiles: false, crossOriginIsolation: true });
  const s = await serve({ root, listing: true, dotfiles: undefined });
  assert.equal((await fetchOnce(s.port, request('/folder/'))).status, 200, 'listing: the caller wins');
  assert.equal(s.server.options.dotfiles, false);
  assert.equal((await fetchOnce(s.port, request('/'))).header('cross-origin-opener-policy'), 'same-origin', 'the file still applies');
});

test('reconfigure replaces the caller\'s options only: the file\'s header rules stay under them', async () => {
  const root = await rootWith({ headers: [{ source: '**', headers: { 'X-File': 'f' } }], listing: false });
  const s = await serve({ root });
  s.server.reconfigure({ headers: [{ source: '**', headers: { 'X-Setting': 's' } }] });
  const r = await fetchOnce(s.port, request('/'));
  assert.equal(r.header('x-file'), 'f');
  assert.equal(r.header('x-setting'), 's');
  assert.equal((await fetchOnce(s.port, request('/folder/'))).status, 404, 'the file\'s listing: false stays');
  s.server.reconfigure({ listing: true });
  assert.equal((await fetchOnce(s.port, request('/folder/'))).status, 200, 'a caller\'s listing wins');
});

test('configFile: false ignores the file', async () => {
  const root = await rootWith({ listing: false });
  const s = await serve({ root, configFile: false });
  assert.equal((await fetchOnce(s.port, request('/folder/'))).status, 200);
});

test('an invalid file fails the start with the file, the key and the reason', async () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [{ listnig: false }, 'listnig', /not a Porthole setting \(did you mean "listing"\?\)/],
    [{ timeouts: { idleMS: 5 } }, 'timeouts.idleMS', /did you mean "idleMs"/],
    [{ nothingLikeIt: 1 }, 'nothingLikeIt', /not a Porthole setting \(the schema lists every key\)/],
    [{ port: '8080' }, 'port', /must be an integer or null/],
    [{ port: 70000 }, 'port', /must be at most 65535 \(it is 70000\)/],
    [{ timeouts: { idleMs: 'soon' } }, 'timeouts.idleMs', /must be an integer/],
    [{ headers: [{ source: '**', headers: { 'X-A': 'a\r\nSet-Cookie: x=1' } }] }, 'headers[0].headers.X-A', /control character/],
    [{ headers: [{ source: '**', headers: { 'Bad Name': 'v' } }] }, 'headers[0].headers.Bad Name', /not a header name/],
    [{ headers: [{ source: '**', headers: { 'Content-Length': '1' } }] }, 'headers[0].headers.Content-Length', /frames the message/],
    [{ headers: [{ headers: {} }] }, 'headers[0].source', /required/],
    [{ allowedClients: ['10.0.0.0/99'] }, 'allowedClients[0]', /./],
    [{ spa: '../outside.html' }, 'spa', /leaves the served folder/],
    // In plain words, never the schema's pattern (a trailing / is the usual slip: an Origin has none).
    [{ cors: { enabled: true, origins: ['http://a.example/path'] } }, 'cors.origins[0]', /^(?!.*\^https).*"http:\/\/a\.example\/path" is not an origin: .*no path \(not even a trailing \/\), e\.g\. "http:\/\/localhost:5173"$/],
    [{ cors: { enabled: true, origins: ['http://localhost:5173/'] } }, 'cors.origins[0]', /^(?!.*\^https).*"http:\/\/localhost:5173\/" is not an origin/],
    [{ host: 'http://127.0.0.1' }, 'host', /^(?!.*\[\^).*"http:\/\/127\.0\.0\.1" is not a host: a name or IP address alone, without a scheme, path, spaces or @/],
    [{ allowedHosts: ['my app.test'] }, 'allowedHosts[0]', /^(?!.*\[\^).*"my app\.test" is not a host/],
    // The schema lets these through; the strict checks every option passes (validate-options) do not.
    [{ host: '[::1]' }, 'host', /without brackets/],
    [{ proxy: { routes: [{ prefix: 'api', target: 'http://127.0.0.1:1' }] } }, 'proxy.routes[0].prefix', /must be a URL path starting with \/, e\.g\. "\/api"/],
    // helper-49: messages that say what to write.
    [{ consoleForward: 'loud' }, 'consoleForward', /must be one of "off", "errors", "all"/],
    [{ proxy: { routes: [{ prefix: '/api', target: 'localhost:3000' }] } }, 'proxy.routes[0].target', /must be a back-end origin starting with http:\/\/ or https:\/\/, e\.g\. "http:\/\/127\.0\.0\.1:3000"/],
    [{ headers: [{ source: '**', header: { 'X-A': 'b' } }] }, 'headers[0].headers', /is required \(the object has "header": did you mean "headers"\?\)/],
    [{ proxy: { '/api': 'http://127.0.0.1:3000' } }, 'proxy./api', /porthole\.proxy setting's form; in this file a route is \{"proxy": \{"routes": \[\{"prefix": "\/api"/],
    ['', '', /is empty: write \{\} for no options, or delete the file/],
    ['\uFEFF  \n', '', /is empty/],
    [{ proxy: { rewritehost: true } }, 'proxy.rewritehost', /did you mean "rewriteHost"/],
    [{ reload: { watchPaths: [''] } }, 'reload.watchPaths[0]', /is empty: give a value, or remove it/],
    // Schema-valid, refused by the proxy room's own rule (validate-options uses it).
    [{ proxy: { routes: [{ prefix: '/b', target: 'http://127.0.0.1:1' }, { prefix: '/b/', target: 'http://127.0.0.1:2' }] } }, 'proxy.routes', /given twice/],
    [{ mounts: ['/vendor=lib'] }, 'mounts', /must be an object/],
    [{ mounts: { vendor: 'lib' } }, 'mounts.vendor', /"vendor" is not a mount prefix: a URL path starting with \//],
    [{ mounts: { '/vendor': '' } }, 'mounts./vendor', /is empty: give a value, or remove it/],
    [{ mounts: { '/vendor': 7 } }, 'mounts./vendor', /must be a string/],
    [{ cleanUrls: 'yes' }, 'cleanUrls', /must be a boolean/],
    [{ cleanurls: true }, 'cleanurls', /did you mean "cleanUrls"/],
    // Schema-valid, refused by the files room's own prefix rule (validate-options uses it).
    [{ mounts: { '/__porthole/x': 'lib' } }, 'mounts', /Porthole's own/],
    [{ mounts: { '/a/../b': 'lib' } }, 'mounts', /dot segment/],
    [{ mounts: { '/api': 'lib' }, proxy: { routes: [{ prefix: '/api', target: 'http://127.0.0.1:1' }] } }, 'mounts', /lies under the proxy route/],
    // The file comes with the folder: it cannot reach past the folder or this machine (helper-46's input).
    [{ host: '0.0.0.0' }, 'host', /"0\.0\.0\.0" would share the folder on the network: a porthole\.config\.json cannot do that \(use --host/],
    [{ host: '::' }, 'host', /would share the folder on the network/],
    [{ allowedHosts: ['evil.example'] }, 'allowedHosts', /cannot add host names to answer to.*use --allowed-host/],
    [{ followSymlinks: true }, 'followSymlinks', /use --follow-symlinks/],
    [{ mounts: { '/m': '/' } }, 'mounts./m', /"\/" is outside the served folder: a porthole\.config\.json mounts only folders inside the folder it comes with \(use --mount/],
    [{ mounts: { '/home': '/root' } }, 'mounts./home', /is outside the served folder/],
    [{ mounts: { '/up': '..' } }, 'mounts./up', /"\.\." is outside the served folder/],
    [{ mounts: { '/shared': '../common-for-file' } }, 'mounts./shared', /is outside the served folder/],
    [{ proxy: { routes: [{ prefix: '/api', target: 'http://192.0.2.1:8080' }] } }, 'proxy.routes[0].target', /is on another machine: a porthole\.config\.json proxies only to this machine \(use --proxy \/api=http:\/\/192\.0\.2\.1:8080/],
    [{ proxy: { routes: [{ prefix: '/api', target: 'https://api.example.com' }] } }, 'proxy.routes[0].target', /is on another machine/],
    // Nor let other sites' pages read the folder: CORS for any or a remote origin, cross-site loads, an ACAO header.
    [{ cors: { enabled: true } }, 'cors.origins', /empty \(every origin\): a porthole\.config\.json may let only this machine's origins read the folder.*use --cors/],
    [{ cors: { enabled: true, origins: ['http://localhost:5173', 'https://evil.example'] } }, 'cors.origins[1]', /"https:\/\/evil\.example" is another machine's.*use --cors-origin/],
    [{ crossSiteLoads: true }, 'crossSiteLoads', /cannot let other sites load the folder's files \(use --allow-cross-site/],
    [{ headers: [{ source: '**', headers: { 'Access-Control-Allow-Origin': '*' } }] }, 'headers[0].headers.Access-Control-Allow-Origin', /"\*" would let other sites read the folder/],
    [{ headers: [{ source: '**', headers: { 'access-control-allow-origin': 'https://evil.example' } }] }, 'headers[0].headers.access-control-allow-origin', /would let other sites read the folder/],
    ['{ "listing": false, }', '', /not valid JSON at line 1/],
    ['[1, 2]', '', /must be an object/],
  ];
  for (const [config, key, reason] of cases) {
    const root = await rootWith(config);
    const file = join(root, CONFIG_FILE_NAME);
    await assert.rejects(
      startServer({ root }),
      (err: unknown) => {
        assert.ok(err instanceof ServerError, String(err));
        assert.equal(err.code, 'ECONFIG');
        assert.ok(err.message.startsWith(`${file}: `), err.message);
        if (key !== '') assert.ok(err.message.includes(`: ${key}: `), `${err.message} names ${key}`);
        // The file as a whole: its path, then the reason (helper-147: "…: (the file): is empty").
        else assert.doesNotMatch(err.message, /\(the file\)/);
        assert.match(err.message, reason);
        return true;
      },
      JSON.stringify(config),
    );
  }
});

test('a key given twice in one object is refused with both places, never silently the last (JSON.parse keeps the last)', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['{ "listing": false,\n  "dotfiles": false,\n  "listing": true }', 'listing', /is given twice in one object \(line 1, column 3 and line 3, column 3\)/],
    ['{ "reload": { "ignore": ["a,\\"}b"], "debounceMs": 5, "debounceMs": 6 } }', 'reload.debounceMs', /is given twice/],
    ['{ "headers": [{ "source": "**", "headers": {} }, { "source": "a", "source": "b", "headers": {} }] }', 'headers[1].source', /is given twice/],
    ['{ "a\\u0062": 1, "ab": 2 }', 'ab', /is given twice/],
  ];
  for (const [text, key, reason] of cases) {
    const root = await rootWith(text);
    await assert.rejects(startServer({ root }), (err: unknown) => {
      assert.ok(err instanceof ServerError, String(err));
      assert.equal(err.code, 'ECONFIG');
      assert.ok(err.message.includes(`: ${key}: `), `${err.message} names ${key}`);
      assert.match(err.message, reason);
      return true;
    }, text);
  }
  // The same name in two objects, or a name inside a string, is no duplicate.
  const root = await rootWith('{ "cors": { "enabled": false }, "reload": { "enabled": true, "ignore": ["\\"enabled\\": 1"] } }');
  const running = await serve({ root });
  assert.equal((await fetchOnce(running.port, request('/folder/a.txt'))).status, 200);
});

test('a number too large for a double (1e400, read as Infinity) is named as such, never as "null"', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['{ "port": 1e400 }', 'port', /must be at most 65535 \(it is Infinity \(a number beyond 1\.8e308/],
    ['{ "reload": { "debounceMs": -1e400 } }', 'reload.debounceMs', /must be at least 0 \(it is -Infinity \(a number beyond -1\.8e308/],
    ['{ "listing": 1e400 }', 'listing', /must be a boolean \(it is the number Infinity/],
  ];
  for (const [text, key, reason] of cases) {
    const root = await rootWith(text);
    await assert.rejects(startServer({ root }), (err: unknown) => {
      assert.ok(err instanceof ServerError, String(err));
      assert.ok(err.message.includes(`: ${key}: `), `${err.message} names ${key}`);
      assert.match(err.message, reason);
      assert.doesNotMatch(err.message, /null/);
      return true;
    });
  }
  // The same value from a caller (a VS Code setting of 1e400 reaches the core as Infinity).
  const root = await rootWith({});
  await assert.rejects(startServer({ root, port: Infinity, reload: { debounceMs: -Infinity } }), (err: unknown) => {
    const message = String(err);
    assert.match(message, /port Infinity \(a number beyond 1\.8e308[^;]*: must be a whole number from 0 to 65535/);
    assert.match(message, /reload\.debounceMs -Infinity/);
    assert.doesNotMatch(message, /null/);
    return true;
  });
});

test('a file\'s mount of a folder inside the root that is a symlink leading out is refused, by its real path', async () => {
  const outside = join(base, 'outside-real');
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'secret.txt'), 'not the folder\'s');
  const root = await rootWith({ mounts: { '/lib': 'linked' } });
  const { symlink } = await import('node:fs/promises');
  await symlink(outside, join(root, 'linked'));
  await assert.rejects(startServer({ root }), (err: unknown) => {
    assert.ok(err instanceof ServerError && err.code === 'ECONFIG', String(err));
    assert.match(err.message, /mounts\.\/lib: "linked" is outside the served folder/);
    return true;
  });
  // The same folder by the user's own choice (an option, as --mount gives it) is served.
  const s = await serve({ root, configFile: false, mounts: [{ prefix: '/lib', folder: join(root, 'linked') }] });
  assert.equal((await fetchOnce(s.port, request('/lib/secret.txt'))).body.toString(), 'not the folder\'s');
});

test('the file\'s mounts (folders relative to the served folder) and cleanUrls reach the server', async () => {
  const root = await rootWith({ mounts: { '/shared': 'lib/common-for-file', '/whole/': '.' }, cleanUrls: true });
  await mkdir(join(root, 'lib', 'common-for-file'), { recursive: true });
  await writeFile(join(root, 'lib', 'common-for-file', 'x.html'), 'mounted x');
  const s = await serve({ root });
  assert.deepEqual(s.server.options.mounts, [
    { prefix: '/shared', folder: resolve(root, 'lib/common-for-file') },
    { prefix: '/whole/', folder: root },
  ]);
  assert.equal(s.server.options.cleanUrls, true);
  assert.equal((await fetchOnce(s.port, request('/shared/x'))).body.toString(), 'mounted x');
});

test('the file\'s proxy routes and watch folders reach the server; configured headers apply to proxied answers, the SPA fallback does not', async () => {
  const backend = await startBackend();
  try {
    const root = await rootWith({
      proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${backend.port}` }], responseTimeoutMs: 2_000 },
      reload: { watchPaths: ['../templates'] },
      headers: [{ source: '**', headers: { 'X-From-File': 'yes' } }],
      spa: true,
    });
    const s = await serve({ root });
    assert.deepEqual(s.server.options.proxy.routes, [{ prefix: '/api', target: `http://127.0.0.1:${backend.port}` }]);
    assert.equal(s.server.options.proxy.responseTimeoutMs, 2_000);
    assert.deepEqual(s.server.options.reload.watchPaths, [resolve(root, '../templates')], 'relative to the served folder');
    const proxied = await fetchOnce(s.port, request('/api/status?code=201'));
    assert.equal(proxied.status, 201);
    assert.equal(proxied.body.toString(), 'status');
    assert.equal(proxied.header('x-from-file'), 'yes', 'configured headers reach a proxied answer');
    // A navigation to a path the back-end does not know gets the back-end's 404, never the SPA file.
    const missing = await fetchOnce(s.port, request('/api/no-such-route', { headers: ['Sec-Fetch-Dest: document'] }));
    assert.equal(missing.status, 404);
    assert.doesNotMatch(missing.body.toString(), /index/);
    const deep = await fetchOnce(s.port, request('/deep/link', { headers: ['Sec-Fetch-Dest: document'] }));
    assert.equal(deep.status, 200, 'outside the route the SPA fallback still answers');
  } finally {
    await backend.close();
  }
});

/** Rewrites the file and waits for the server's `config` event (bounded). */
async function edit(s: Running, root: string, config: unknown): Promise<ConfigFileChange> {
  const event = withTimeout(once(s.server, 'config') as Promise<[ConfigFileChange]>, 5_000, 'the config event');
  await writeFile(join(root, CONFIG_FILE_NAME), typeof config === 'string' ? config : JSON.stringify(config));
  return (await event)[0];
}

test('an edit of the file is applied to the running server; an invalid edit keeps the settings in use', async () => {
  const root = await rootWith({ headers: [{ source: '**', headers: { 'X-Version': '1' } }] });
  const s = await serve({ root });
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), '1');

  const applied = await edit(s, root, { headers: [{ source: '**', headers: { 'X-Version': '2' } }], listing: false });
  assert.equal(applied.kind, 'applied');
  assert.match(applied.message, /headers/);
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), '2');
  assert.equal((await fetchOnce(s.port, request('/folder/'))).status, 404);

  const invalid = await edit(s, root, { headers: [{ source: '**', headers: { 'X-Version': 3 } }] });
  assert.equal(invalid.kind, 'invalid');
  assert.match(invalid.message, new RegExp(`${CONFIG_FILE_NAME}: headers\\[0\\]\\.headers\\.X-Version: must be a string`));
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), '2', 'the last valid settings stay');

  const removed = withTimeout(once(s.server, 'config') as Promise<[ConfigFileChange]>, 5_000, 'the config event');
  await rm(join(root, CONFIG_FILE_NAME));
  assert.equal((await removed)[0].kind, 'applied');
  const after = await fetchOnce(s.port, request('/'));
  assert.equal(after.header('x-version'), undefined, 'no file: the defaults again');
  assert.equal((await fetchOnce(s.port, request('/folder/'))).status, 200);
});

test('a typo fixed back to the settings in use is said: an invalid edit, then the same file as before, is not met with silence', async () => {
  // Before: the file as it was before the typo is the layer in use, so the read after the fix
  // returned without a word; the last thing the user saw was the error.
  const settings = { headers: [{ source: '**', headers: { 'X-Version': '1' } }] };
  const root = await rootWith(settings);
  const s = await serve({ root });
  const invalid = await edit(s, root, '{ "headers": [{ "source": "**", "headers": { "X-Version": "1" } }], "cleanURLs": true }');
  assert.equal(invalid.kind, 'invalid');
  const fixed = await edit(s, root, settings);
  assert.equal(fixed.kind, 'applied');
  assert.match(fixed.message, /porthole\.config\.json is valid again; nothing to apply \(it is as in use\)/);
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), '1');
});

test('an invalid file then removed, where none was in use, is said as removed, not as valid again (helper-149)', async () => {
  const root = await rootWith({});
  const { rm: remove } = await import('node:fs/promises');
  await remove(join(root, CONFIG_FILE_NAME));
  const s = await serve({ root });
  const invalid = await edit(s, root, '{ "maxConnections": ');
  assert.equal(invalid.kind, 'invalid');
  const event = withTimeout(once(s.server, 'config') as Promise<[ConfigFileChange]>, 5_000, 'the config event');
  await remove(join(root, CONFIG_FILE_NAME));
  const [removed] = await event;
  assert.equal(removed.kind, 'applied');
  assert.equal(removed.message, 'porthole.config.json removed; nothing to apply (the settings in use came from no file)');
});

test('the folder removed and made again (in one go, with the old inode number; or after a while) is followed again: a later edit of the file is applied', async () => {
  // Live reload's watches, CI stop 33: a watch follows the folder it was made on, and `rm -r dist
  // && mkdir dist` gives the new folder the old one's inode number at once (ext4). The file's
  // watch on the folder went dead with the first removal: edits after a rebuild were never read.
  const root = await rootWith({ headers: [{ source: '**', headers: { 'X-Version': '1' } }] });
  const s = await serve({ root });
  const nextChange = (): Promise<ConfigFileChange> => withTimeout(once(s.server, 'config') as Promise<[ConfigFileChange]>, 5_000, 'the config event').then(([c]) => c);
  // In one go: emptied first (the file's removal read and applied), then removed and made again in
  // one synchronous step, so nothing is read between; the folder's own removal is read after.
  let change = nextChange();
  for (const name of readdirSync(root)) await rm(join(root, name), { recursive: true });
  const removed = await change;
  assert.equal(removed.kind, 'applied', 'the file removed: the defaults');
  // Not "applied headers", which reads as turned on (helper-158).
  assert.equal(removed.message, 'porthole.config.json removed: what it set (headers) is back to the flags, settings and defaults');
  const ino = statSync(root).ino;
  // No file before and none after: nothing is said (helper-144: a build's quick `rm -rf dist &&
  // mkdir dist` printed "porthole.config.json changed" twice, with no file to change).
  const said: ConfigFileChange[] = [];
  const collect = (c: ConfigFileChange): void => void said.push(c);
  s.server.on('config', collect);
  rmSync(root, { recursive: true });
  mkdirSync(root);
  const reused = statSync(root).ino === ino;
  await sleep(CONFIG_ROOT_POLL_MS + 500);
  s.server.off('config', collect);
  assert.deepEqual(said.filter((c) => c.message.includes(CONFIG_FILE_NAME)), [], `no file said to change for a folder made again with none (inode number given again: ${reused})`);
  await writeFile(join(root, 'index.html'), '<!doctype html><p>index</p>');
  assert.equal((await edit(s, root, { headers: [{ source: '**', headers: { 'X-Version': '2' } }] })).kind, 'applied');
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), '2');
  // After a while: removed (while the folder is gone, the settings in use stay), then, a poll
  // later, made again with a file.
  change = nextChange();
  rmSync(root, { recursive: true });
  const gone = await change;
  assert.equal(gone.kind, 'invalid', gone.message);
  // Said as what it is, not as a wrong path to check (helper-138: a build's `rm -rf dist`).
  assert.match(gone.message, /^the root folder \S+ is gone for now \(deleted, or a build is making it again\); it is served again once it is back; keeping the settings in use$/);
  await sleep(CONFIG_ROOT_POLL_MS + 200);
  change = nextChange();
  mkdirSync(root);
  await writeFile(join(root, 'index.html'), '<!doctype html><p>index</p>');
  await writeFile(join(root, CONFIG_FILE_NAME), JSON.stringify({ headers: [{ source: '**', headers: { 'X-Version': '3' } }] }));
  const back = await change;
  assert.equal(back.kind, 'applied', 'the folder back: the file read');
  assert.match(back.message, /^the root folder \S+ is back: its files are served again/);
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), '3');
  // Followed again from there: an edit now is applied.
  assert.equal((await edit(s, root, { headers: [{ source: '**', headers: { 'X-Version': '4' } }] })).kind, 'applied');
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), '4');
});

test('a file that is a symbolic link is followed where it leads: an edit of that file is applied, and of the file a re-pointed link leads to', async () => {
  // porthole.config.json -> conf/dev.json: read through the link, but only the root was watched,
  // so an edit of conf/dev.json was never applied (nothing changed in the root).
  const root = await rootWith({});
  await rm(join(root, CONFIG_FILE_NAME));
  await mkdir(join(root, 'conf'));
  const version = (v: string): string => JSON.stringify({ headers: [{ source: '**', headers: { 'X-Version': v } }] });
  await writeFile(join(root, 'conf', 'dev.json'), version('1'));
  await writeFile(join(root, 'conf', 'prod.json'), version('p1'));
  symlinkSync(join('conf', 'dev.json'), join(root, CONFIG_FILE_NAME));
  const s = await serve({ root });
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), '1');
  const nextChange = (): Promise<ConfigFileChange> => withTimeout(once(s.server, 'config') as Promise<[ConfigFileChange]>, 5_000, 'the config event').then(([c]) => c);
  let change = nextChange();
  await writeFile(join(root, 'conf', 'dev.json'), version('2'));
  assert.equal((await change).kind, 'applied', 'the edit of the file the link leads to');
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), '2');
  // ln -sfn: a new link renamed over the old one.
  change = nextChange();
  symlinkSync(join('conf', 'prod.json'), join(root, 'next-link'));
  renameSync(join(root, 'next-link'), join(root, CONFIG_FILE_NAME));
  assert.equal((await change).kind, 'applied', 'the link re-pointed');
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), 'p1');
  change = nextChange();
  await writeFile(join(root, 'conf', 'prod.json'), version('p2'));
  assert.equal((await change).kind, 'applied', 'an edit of the file it leads to now');
  assert.equal((await fetchOnce(s.port, request('/'))).header('x-version'), 'p2');
});

test('an edit that changes the binding or live-reload setup asks for a restart and changes nothing itself', async () => {
  const root = await rootWith({ reload: { debounceMs: 50 } });
  const s = await serve({ root });
  const change = await edit(s, root, { reload: { debounceMs: 75 }, listing: false });
  assert.equal(change.kind, 'restart');
  assert.match(change.message, /needs a restart \(reload\.debounceMs\)$/, 'the message names what changed');
  assert.equal(s.server.options.reload.debounceMs, 50);
  assert.equal((await fetchOnce(s.port, request('/folder/'))).status, 200, 'nothing applied: the host restarts');
});

test('an edit that names a new logFile asks for a restart, checks the file can be opened, and leaves no file of its own behind (a restart under --workers never comes)', async () => {
  // Before (stop 52's list): the check opened (made) the new log, and under --workers, where the
  // edit is only said, an empty new.log stayed in the folder though nothing was applied.
  const root = await rootWith({ listing: true });
  const s = await serve({ root });
  const change = await edit(s, root, { listing: true, logFile: 'new.log' });
  assert.equal(change.kind, 'restart', change.message);
  assert.match(change.message, /needs a restart \(logFile\)$/);
  assert.equal(existsSync(join(root, 'new.log')), false, 'no new.log made by the check');
  // A log file that is there already is left as it is (the check only opens and closes it).
  const older = '127.0.0.1 - - [02/Dec/2026:16:00:00 +0000] "GET / HTTP/1.1" 200 6 "-" "older"\n';
  await writeFile(join(root, 'kept.log'), older);
  const again = await edit(s, root, { listing: true, logFile: 'kept.log' });
  assert.equal(again.kind, 'restart', again.message);
  assert.equal(readFileSync(join(root, 'kept.log'), 'utf8'), older);
});

test('the generated validator is the schema VS Code completes the file with (regenerate after editing the schema)', () => {
  const repo = resolve(__dirname, '..', '..', '..');
  // Exits 1 with a message when config-validator.generated.ts differs from what the schema gives.
  execFileSync(process.execPath, [join(repo, 'scripts', 'gen-config-validator.mjs'), '--check'], { cwd: repo, stdio: 'pipe', timeout: 30_000 });
});

/** Every integer key of the schema with its bounds, as a dotted path (`timeouts.closeGraceMs`). */
function schemaBounds(node: Record<string, unknown>, at: string[] = []): Array<{ path: string[]; min?: number; max?: number }> {
  const out: Array<{ path: string[]; min?: number; max?: number }> = [];
  const props = node.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [key, child] of Object.entries(props ?? {})) {
    const type = child.type;
    const integer = type === 'integer' || (Array.isArray(type) && type.includes('integer'));
    if (integer && (child.minimum !== undefined || child.maximum !== undefined)) {
      out.push({ path: [...at, key], min: child.minimum as number | undefined, max: child.maximum as number | undefined });
    }
    if (child.type === 'object') out.push(...schemaBounds(child, [...at, key]));
  }
  return out;
}

test('a restart message names the options that changed, not a fixed list (maxBodyBytes and timeouts are no binding)', async () => {
  const root = await rootWith({ maxBodyBytes: 1000 });
  const s = await serve({ root });
  const change = await edit(s, root, { maxBodyBytes: 2000, timeouts: { idleMs: 7000 }, listing: false });
  assert.equal(change.kind, 'restart');
  assert.match(change.message, /needs a restart \(maxBodyBytes, timeouts\.idleMs\)$/);
  assert.doesNotMatch(change.message, /binding|proxy/);
});

test('the schema VS Code checks the file with and the server agree on every number\'s bounds: what one takes, the other takes', async () => {
  const schema = JSON.parse(readFileSync(resolve(__dirname, '../../../schemas/porthole.config.schema.json'), 'utf8')) as Record<string, unknown>;
  const bounds = schemaBounds(schema);
  assert.ok(bounds.some((b) => b.path.join('.') === 'timeouts.closeGraceMs'), 'the walk finds nested keys');
  const nested = (path: string[], value: number): Record<string, unknown> => path.reduceRight<unknown>((v, k) => ({ [k]: v }), value) as Record<string, unknown>;
  const outcome = async (path: string[], value: number): Promise<string> => {
    const root = await rootWith(nested(path, value));
    return resolveOptionsWithConfigFile({ root }).then(
      () => 'taken',
      (err: unknown) => `refused: ${(err as Error).message}`,
    );
  };
  for (const { path, min, max } of bounds) {
    const key = path.join('.');
    if (max !== undefined) {
      assert.equal(await outcome(path, max), 'taken', `${key}: the schema allows ${max}`);
      assert.match(await outcome(path, max + 1), /^refused/, `${key}: the schema refuses ${max + 1}`);
    }
    if (min !== undefined) {
      assert.equal(await outcome(path, min), 'taken', `${key}: the schema allows ${min}`);
      assert.match(await outcome(path, min - 1), /^refused/, `${key}: the schema refuses ${min - 1}`);
    }
  }
});

/** Waits until `check` holds (polled every 50 ms), up to `ms`; the last `check` result. */
async function until(check: () => boolean, ms = 5_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (check()) return true;
  return check();
}

test("a config file's log removed while written is made again only inside the folder: not through its folder made a link out, nor a link at its own path (helper-140)", async () => {
  const outside = join(base, `outside-${++count}`);
  mkdirSync(join(outside, 'evil'), { recursive: true });
  const root = await rootWith({ logFile: 'logs/access.log' });
  await mkdir(join(root, 'logs'));
  const s = await serve({ root });
  const warnings: string[] = [];
  s.server.on('diagnostic', (_level, message) => warnings.push(message));
  const log = join(root, 'logs', 'access.log');
  const lines = (): number => readFileSync(log, 'latin1').split('\n').filter(Boolean).length;
  await fetchOnce(s.port, request('/first'));
  assert.ok(await until(() => statSync(log, { throwIfNoEntry: false }) !== undefined && lines() === 1), 'the first line is written inside');

  // The folder: `git checkout` of a branch where logs is a link out (the ignored log removed with it).
  rmSync(join(root, 'logs'), { recursive: true });
  symlinkSync(join(outside, 'evil'), join(root, 'logs'));
  await fetchOnce(s.port, request('/$(touch${IFS}/tmp/pwned)'));
  assert.ok(await until(() => warnings.some((w) => /cannot be made again/.test(w))), `said: ${warnings.join(' | ')}`);
  await sleep(300);
  assert.deepEqual(readdirSync(join(outside, 'evil')), [], 'nothing is made outside the folder');
  const said = warnings.find((w) => /cannot be made again/.test(w)) ?? '';
  assert.match(said, /leads outside the served folder/);
  assert.match(said, /its lines wait in memory/);

  // A link at the log's own path, to a file outside (a script a shell would run).
  rmSync(join(root, 'logs'));
  mkdirSync(join(root, 'logs'));
  symlinkSync(join(outside, 'evil', 'new.sh'), log);
  await fetchOnce(s.port, request('/third'));
  await sleep(400);
  assert.deepEqual(readdirSync(join(outside, 'evil')), [], 'nothing is made through a link at its path');

  // Put back as a file of the folder's own: every line waiting is written there, none lost.
  rmSync(log);
  await fetchOnce(s.port, request('/fourth'));
  assert.ok(await until(() => statSync(log, { throwIfNoEntry: false })?.isFile() === true && lines() === 3), 'the waiting lines go to the file made again inside');
  const text = readFileSync(log, 'latin1');
  for (const path of ['/$(touch${IFS}/tmp/pwned)', '/third', '/fourth']) assert.ok(text.includes(`GET ${path} `), `${path} logged: ${text}`);
  assert.equal(lstatOrUndefined(join(root, 'logs', 'access.log'))?.isSymbolicLink(), false);
});

/** lstat, or undefined when nothing is there. */
function lstatOrUndefined(path: string): import('node:fs').Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

test('a served folder with no configuration file, removed and made again, is said back, not "porthole.config.json changed" (helper-139)', async () => {
  const root = join(base, `r${++count}`);
  mkdirSync(root);
  await writeFile(join(root, 'index.html'), '<p>1</p>');
  const s = await serve({ root });
  const nextChange = (): Promise<ConfigFileChange> => withTimeout(once(s.server, 'config') as Promise<[ConfigFileChange]>, 5_000, 'the config event').then(([c]) => c);
  let change = nextChange();
  rmSync(root, { recursive: true });
  assert.equal((await change).kind, 'invalid');
  await sleep(CONFIG_ROOT_POLL_MS + 200);
  change = nextChange();
  mkdirSync(root);
  await writeFile(join(root, 'index.html'), '<p>2</p>');
  const back = await change;
  assert.equal(back.message, `the root folder ${root} is back: its files are served again`);
  assert.equal((await fetchOnce(s.port, request('/'))).status, 200);
});

test("a config file's log opened through a folder swapped for a link out and back around the open is refused: the descriptor's own path is judged (helper-143)", async () => {
  // The race helper-143 won (renameat2 swaps under load) made deterministic: the rule's look at
  // the path swaps the folder for a link out as it returns, and swaps it back at the next look, so
  // both looks at the path see the folder and the open goes through the link.
  const root = join(base, `race-${++count}`);
  const outside = join(base, `race-out-${count}`);
  mkdirSync(join(root, 'logs'), { recursive: true });
  mkdirSync(outside);
  const log = join(root, 'logs', 'access.log');
  let looks = 0;
  const swap = (toLink: boolean): void => {
    if (toLink) {
      renameSync(join(root, 'logs'), join(root, 'logs-real'));
      symlinkSync(outside, join(root, 'logs'));
    } else {
      rmSync(join(root, 'logs'));
      renameSync(join(root, 'logs-real'), join(root, 'logs'));
    }
  };
  const rule = Object.assign(
    (path: string) => {
      looks++;
      if (looks === 2) swap(false);
      const why = logPlaceOutside(root, path);
      if (looks === 1) swap(true);
      return why;
    },
    { opened: (realPath: string, links: number) => logOpenedOutside(root, realPath, links), todo: 'name another' },
  );
  const requestLog = new RequestLog(false);
  await assert.rejects(requestLog.openFile(log, rule), /was opened at \S+race-out-\d+\/access\.log, outside the served folder/);
  assert.equal(looks, 2, 'the path was looked at before and after the open');
  assert.equal(statSync(join(outside, 'access.log')).size, 0, 'not a byte written where the open went');
});

test("a config file's log with another name (a hard link) is refused: the other name may lie outside (helper-143)", async () => {
  const outside = join(base, `hard-out-${++count}`);
  mkdirSync(outside);
  writeFileSync(join(outside, 'empty.log'), '');
  const root = await rootWith({ logFile: 'h.log' });
  linkSync(join(outside, 'empty.log'), join(root, 'h.log'));
  await assert.rejects(serve({ root }), /h\.log: it has 2 names \(hard links\), and another may lie outside the served folder/);
  assert.equal(readFileSync(join(outside, 'empty.log'), 'latin1'), '');
});

test('the same file written again (a build making the folder again) is no edit: nothing said; an edit after it is (helper-145)', async () => {
  const root = await rootWith({ listing: false });
  const s = await serve({ root });
  const said: ConfigFileChange[] = [];
  s.server.on('config', (c) => void said.push(c));
  await writeFile(join(root, CONFIG_FILE_NAME), JSON.stringify({ listing: false }, null, 2));
  await rm(join(root, CONFIG_FILE_NAME));
  await writeFile(join(root, CONFIG_FILE_NAME), JSON.stringify({ listing: false }));
  await sleep(1_000);
  assert.deepEqual(said.filter((c) => c.kind === 'applied'), [], said.map((c) => c.message).join(' | '));
  assert.equal((await edit(s, root, { listing: true })).kind, 'applied');
});
