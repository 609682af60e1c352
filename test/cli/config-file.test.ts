/**
 * The CLI with porthole.config.json and the new flags, as a user runs it (dist/cli.js, raw TCP):
 * the file applies and flags override it; an invalid file or flag exits 1 naming the file, the key
 * and the reason; an edit that changes the binding restarts the server (a second `Local:` line);
 * --header, --cross-origin-isolation, --cors and --spa reach the wire.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { fetchOnce, request, withTimeout } from '../core/raw-client';
import { WAIT_MS, killAllClis, requireBuiltCli, runCli, stopCli, waitForLocalUrl, type Cli } from './run-cli';

let base: string;
let count = 0;

before(async () => {
  requireBuiltCli();
  base = await mkdtemp(join(tmpdir(), 'porthole-cli-config-'));
});

after(async () => {
  killAllClis();
  await rm(base, { recursive: true, force: true });
});

async function rootWith(config: unknown): Promise<string> {
  const root = join(base, `r${++count}`);
  await mkdir(join(root, 'folder'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><p>cli-index</p>');
  await writeFile(join(root, 'folder', 'a.txt'), 'a');
  if (config !== undefined) await writeFile(join(root, 'porthole.config.json'), JSON.stringify(config));
  return root;
}

async function portOf(cli: Cli): Promise<number> {
  return Number((await waitForLocalUrl(cli)).url.port);
}

test('an invalid file exits 1 with the file, the key and the reason', async () => {
  const root = await rootWith({ listing: 'no' });
  const cli = runCli([root, '--port', '0', '--quiet'], base);
  const code = await withTimeout(cli.exited, WAIT_MS, 'exit');
  assert.equal(code, 1);
  assert.match(cli.stderr, new RegExp(`porthole: ${join(root, 'porthole.config.json').replace(/[.]/g, '\\.')}: listing: must be a boolean`));
});

test('every key the README names is one the file takes (timeouts.bodyMs reaches the wire), and "did you mean" names only keys the file takes', async () => {
  // README's limits table names timeouts.bodyMs; the file refused it, suggesting "bodyMs" itself.
  const root = await rootWith({ timeouts: { bodyMs: 500 } });
  const cli = runCli([root, '--port', '0', '--no-reload', '--no-host-names'], base);
  try {
    const port = await portOf(cli);
    assert.equal(cli.stderr, '');
    // A body that stops half-way: 408 after the file's 500 ms, not the default 30 s.
    const started = Date.now();
    const answer = await fetchOnce(port, request('/index.html', { headers: ['Content-Length: 10'] }) + 'abc', { timeoutMs: 5_000 });
    assert.equal(answer.status, 408);
    assert.ok(Date.now() - started < 5_000, `408 after ${Date.now() - started} ms`);
  } finally {
    assert.equal(await stopCli(cli), 0, cli.stderr);
  }
  // Misspelt keys: the suggestion is the schema's key (limits had none before).
  for (const [config, key, hint] of [
    [{ timeouts: { bodyMS: 500 } }, 'timeouts.bodyMS', 'did you mean "bodyMs"?'],
    [{ limits: { maxQueueBytes: 1 } }, 'limits.maxQueueBytes', 'did you mean "maxQueuedBytes"?'],
  ] as const) {
    const bad = await rootWith(config);
    const refused = runCli([bad, '--port', '0'], base);
    assert.equal(await withTimeout(refused.exited, WAIT_MS, 'exit'), 1);
    assert.equal(refused.stderr.trim(), `porthole: ${join(bad, 'porthole.config.json')}: ${key}: is not a Porthole setting (${hint})`);
  }
});

test('bad --header, --cors-origin and --spa values exit 1 in plain words', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--header', 'X-A'], /--header: "X-A" is not "Name: value"/],
    [['--header', 'Bad Name: v'], /--header: "Bad Name" is not a header name/],
    [['--header', 'Content-Length: 5'], /--header: Content-Length frames the message/],
    // One field per name: the second replaced the first without a word (helper-176).
    [['--header', 'Set-Cookie: a=1', '--header', 'set-cookie: b=2'], /--header: "Set-Cookie: a=1" and "set-cookie: b=2" name one field/],
    [['--header', 'Content-Type:'], /--header: Content-Type is empty; it names a media type/],
    [['--cors-origin', 'http://a.example/x'], /--cors-origin takes an origin/],
    [['--spa=../x.html'], /--spa: "..\/x.html" leaves the served folder/],
  ];
  const root = await rootWith(undefined);
  for (const [args, message] of cases) {
    const cli = runCli([root, '--port', '0', ...args], base);
    assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit'), 1, args.join(' '));
    assert.match(cli.stderr, message);
  }
});

test('the file applies, flags override it, and the new flags reach the wire', async () => {
  const root = await rootWith({ listing: false, headers: [{ source: '*.txt', headers: { 'X-File': 'f' } }] });
  const cli = runCli([root, '--port', '0', '--quiet', '--header', 'X-Flag: on', '--cross-origin-isolation', '--cors-origin', 'http://app.example', '--spa'], base);
  const port = await portOf(cli);
  assert.match(cli.stdout, /Config: .*porthole\.config\.json/);
  assert.equal((await fetchOnce(port, request('/folder/'))).status, 404, 'listing from the file');
  const txt = await fetchOnce(port, request('/folder/a.txt', { headers: ['Origin: http://app.example'] }));
  assert.equal(txt.header('x-file'), 'f');
  assert.equal(txt.header('x-flag'), 'on');
  assert.equal(txt.header('cross-origin-embedder-policy'), 'require-corp');
  assert.equal(txt.header('access-control-allow-origin'), 'http://app.example');
  const deep = await fetchOnce(port, request('/a/deep/link', { headers: ['Sec-Fetch-Dest: document'] }));
  assert.equal(deep.status, 200);
  assert.match(deep.body.toString(), /cli-index/);
  assert.equal(await stopCli(cli), 0);

  const overridden = runCli([root, '--port', '0', '--quiet', '--no-config'], base);
  const port2 = await portOf(overridden);
  assert.equal((await fetchOnce(port2, request('/folder/'))).status, 200, '--no-config: the file is ignored');
  assert.equal(await stopCli(overridden), 0);
});

test('an edit that changes the binding restarts the server; a live one is applied without', async () => {
  const root = await rootWith({ reload: { debounceMs: 40 } });
  const cli = runCli([root, '--port', '0', '--quiet'], base);
  const port = await portOf(cli);
  assert.equal((await fetchOnce(port, request('/folder/'))).status, 200);
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ reload: { debounceMs: 40 }, listing: false }));
  await withTimeout(
    (async () => {
      for (let i = 0; i < 100 && (await fetchOnce(port, request('/folder/'))).status !== 404; i++) await new Promise((r) => setTimeout(r, 50));
    })(),
    WAIT_MS,
    'listing off applied',
  );
  assert.equal((await fetchOnce(port, request('/folder/'))).status, 404);
  assert.equal(cli.stdout.match(/^Local: /gm)?.length, 1, 'no restart for a live option');
  // Said (helper-121: an applied edit was met with silence).
  assert.match(cli.stdout, /^porthole: porthole\.config\.json changed: applied listing$/m);
  // An edit that changes nothing in use is said as such.
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ reload: { debounceMs: 40 }, listing: false, dotfiles: false }));
  await withTimeout(
    (async () => {
      for (let i = 0; i < 250 && !cli.stdout.includes('nothing to apply'); i++) await new Promise((r) => setTimeout(r, 20));
    })(),
    WAIT_MS,
    'the edit that applies nothing said',
  );
  assert.match(cli.stdout, /^porthole: porthole\.config\.json changed; nothing to apply \(what was edited is as in use\)$/m);
  // An edit a flag overrides is said by name, also beside one applied (helper-139: a port edited
  // under --port, beside headers, met only "applied headers").
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ reload: { debounceMs: 40 }, listing: false, dotfiles: false, port: 9, headers: [{ source: '**', headers: { 'X-Edit': '1' } }] }));
  await withTimeout(
    (async () => {
      for (let i = 0; i < 250 && !cli.stdout.includes('applied headers'); i++) await new Promise((r) => setTimeout(r, 20));
    })(),
    WAIT_MS,
    'the edit beside a flag said',
  );
  assert.match(cli.stdout, /^porthole: porthole\.config\.json changed: applied headers; port is given by a flag or setting, which overrides the file$/m);
  assert.equal(cli.stdout.match(/^Local: /gm)?.length, 1, 'no restart for a port a flag gives');

  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ reload: { debounceMs: 60 }, listing: false }));
  await withTimeout(
    new Promise<void>((resolveRestart) => {
      const check = (): void => {
        if ((cli.stdout.match(/^Local: /gm)?.length ?? 0) >= 2) {
          cli.child.stdout?.off('data', check);
          resolveRestart();
        }
      };
      cli.child.stdout?.on('data', check);
      check();
    }),
    WAIT_MS,
    `a second Local: line (stdout: ${cli.stdout})`,
  );
  assert.match(cli.stdout, /^porthole: porthole\.config\.json changed an option that needs a restart.*: restarting$/m);
  const newPort = Number(/^Local: http:\/\/127\.0\.0\.1:(\d+)\/$/m.exec(cli.stdout.split(/restarting\n/)[1] ?? '')?.[1]);
  assert.equal((await fetchOnce(newPort, request('/folder/'))).status, 404, 'the restarted server keeps the file');
  assert.equal(await stopCli(cli), 0);
});

test('an edit saved as the server starts is read once the file has settled: an invalid one is said once, and never as a save half-done', async () => {
  // helper-167: saved as `Local:` was printed, it was said twice, 100 ms apart (the read every
  // watch makes once it begins, beside the edit's own), and with a write in place sometimes also
  // as an empty file (the read came between the truncation and the write).
  const root = await rootWith({ listing: true });
  const cli = runCli([root, '--port', '0', '--quiet'], base);
  const port = await portOf(cli);
  await writeFile(join(root, 'porthole.config.json'), '{"listing": "no"}');
  const said = `porthole: ${join(root, 'porthole.config.json')}: listing: must be a boolean (it is the string "no"); keeping the settings in use\n`;
  for (let i = 0; i < 250 && !cli.stderr.includes(said); i++) await new Promise((r) => setTimeout(r, 20));
  // Time for a second read to say it again.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(cli.stderr, said);
  assert.equal((await fetchOnce(port, request('/folder/'))).status, 200, 'the settings in use stay');
  assert.equal(await stopCli(cli), 0);
});

test('an edit that needs a restart but could not start (a mount of a missing folder, a log file in no folder) is refused: the running server keeps serving', async () => {
  const root = await rootWith({ reload: { debounceMs: 40 } });
  const cli = runCli([root, '--port', '0', '--quiet'], base);
  const port = await portOf(cli);
  const file = join(root, 'porthole.config.json');
  const edits: Array<[unknown, RegExp]> = [
    [{ mounts: { '/v': 'not-made-yet' } }, /porthole\.config\.json: the folder \S+not-made-yet mounted at \/v does not exist; create it, or fix the mount .*; keeping the settings in use/],
    [{ logFile: 'no-such-folder/access.log' }, /porthole\.config\.json: cannot write the log file \S+access\.log: its folder \S+no-such-folder does not exist.*; keeping the settings in use/],
  ];
  for (const [config, said] of edits) {
    await writeFile(file, JSON.stringify(config));
    await withTimeout(
      (async () => {
        for (let i = 0; i < 200 && !said.test(cli.stderr) && cli.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
      })(),
      WAIT_MS,
      'the edit refused',
    );
    assert.equal(cli.child.exitCode, null, `still running after ${JSON.stringify(config)} (stderr: ${cli.stderr})`);
    assert.match(cli.stderr, said);
    assert.equal((await fetchOnce(port, request('/folder/a.txt'))).status, 200, 'the same server still answers');
  }
  assert.doesNotMatch(cli.stdout, /restarting/);
  assert.equal(existsSync(join(root, 'no-such-folder')), false, 'no folder made');
  // Once the folder is there, the same edit restarts the server with the mount.
  await mkdir(join(root, 'not-made-yet'));
  await writeFile(join(root, 'not-made-yet', 'm.txt'), 'mounted');
  await writeFile(file, JSON.stringify({ mounts: { '/v': 'not-made-yet' } }));
  await withTimeout(
    (async () => {
      for (let i = 0; i < 200 && (cli.stdout.match(/^Local: /gm)?.length ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    })(),
    WAIT_MS,
    `a second Local: line (stdout: ${cli.stdout})`,
  );
  const newPort = Number(/^Local: http:\/\/127\.0\.0\.1:(\d+)\/$/m.exec(cli.stdout.split(/restarting\n/)[1] ?? '')?.[1]);
  const mounted = await fetchOnce(newPort, request('/v/m.txt'));
  assert.equal(`${mounted.status} ${mounted.body.toString('utf8')}`, '200 mounted');
  assert.equal(await stopCli(cli), 0);
});

test('an edit to a port another program holds is refused before the restart: the running server keeps serving, and takes the port once it is free', async () => {
  // Held by this test: a listener on a port the kernel chose.
  const holder = createNetServer();
  await new Promise<void>((resolve) => holder.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const taken = (holder.address() as AddressInfo).port;
  try {
    const root = await rootWith({ reload: { debounceMs: 40 } });
    // No --port: the file's port is the one used (flags override the file).
    const cli = runCli([root, '--quiet'], base);
    const port = await portOf(cli);
    const file = join(root, 'porthole.config.json');
    const edit = JSON.stringify({ port: taken, portAttempts: 1 });
    await writeFile(file, edit);
    const said = new RegExp(`porthole\\.config\\.json: port ${taken} is in use on 127\\.0\\.0\\.1; stop the other server or choose another port; keeping the settings in use`);
    await withTimeout(
      (async () => {
        for (let i = 0; i < 200 && !said.test(cli.stderr) && cli.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
      })(),
      WAIT_MS,
      'the edit refused',
    );
    assert.equal(cli.child.exitCode, null, `still running (stderr: ${cli.stderr})`);
    assert.match(cli.stderr, said);
    assert.doesNotMatch(cli.stdout, /restarting/);
    assert.equal((await fetchOnce(port, request('/folder/a.txt'))).status, 200, 'the same server still answers');
    // The port freed, the same edit saved again restarts the server on it.
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    await writeFile(file, edit + '\n');
    await withTimeout(
      (async () => {
        for (let i = 0; i < 200 && (cli.stdout.match(/^Local: /gm)?.length ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 50));
      })(),
      WAIT_MS,
      `a second Local: line (stdout: ${cli.stdout})`,
    );
    assert.match(cli.stdout, new RegExp(`restarting\\n[^]*^Local: http://127\\.0\\.0\\.1:${taken}/$`, 'm'));
    assert.equal((await fetchOnce(taken, request('/folder/a.txt'))).status, 200);
    assert.equal(await stopCli(cli), 0);
  } finally {
    holder.close();
  }
});

test('mounts: the file\'s folders are the served folder\'s, --mount\'s the working folder\'s; --clean-urls reaches the wire', async () => {
  const root = await rootWith({ mounts: { '/from-file': 'common-lib' }, cleanUrls: false });
  await mkdir(join(root, 'common-lib'), { recursive: true });
  await writeFile(join(root, 'common-lib', 'lib.js'), 'from the file mount');
  await mkdir(join(base, 'cwd', 'vendor-x'), { recursive: true });
  await writeFile(join(base, 'cwd', 'vendor-x', 'v.js'), 'from the flag mount');
  await writeFile(join(root, 'about.html'), '<!doctype html><p>about</p>');
  const fileOnly = runCli([root, '--port', '0', '--quiet'], join(base, 'cwd'));
  const filePort = await portOf(fileOnly);
  assert.match(fileOnly.stdout, new RegExp(`Mount: /from-file → ${join(root, 'common-lib').replace(/[.]/g, '\\.')}`), 'the banner names the file\'s mount');
  assert.equal((await fetchOnce(filePort, request('/from-file/lib.js'))).body.toString(), 'from the file mount');
  assert.equal((await fetchOnce(filePort, request('/about'))).status, 404);
  await stopCli(fileOnly);
  // Flags override the file: the --mount list replaces the file's, --clean-urls its false.
  const flags = runCli([root, '--port', '0', '--quiet', '--mount', '/vendor=./vendor-x', '--clean-urls'], join(base, 'cwd'));
  const port = await portOf(flags);
  assert.equal((await fetchOnce(port, request('/vendor/v.js'))).body.toString(), 'from the flag mount');
  assert.equal((await fetchOnce(port, request('/from-file/lib.js'))).status, 404);
  assert.equal((await fetchOnce(port, request('/about'))).status, 200);
  assert.equal((await fetchOnce(port, request('/about.html'))).header('location'), '/about');
  await stopCli(flags);
});

test('a config file cannot mount a hidden folder (.git, ~/.ssh, through a link) or one outside the folder, share on the network, add host names, follow symlinks out, proxy to another machine, nor write its log outside the folder or into one of its hidden or other files, nor watch a folder that holds it: exit 1, key and reason, nothing served', async () => {
  const outside = join(base, 'outside-h');
  await mkdir(join(outside, '.ssh'), { recursive: true });
  await writeFile(join(outside, '.ssh', 'id_rsa'), 'SECRET');
  await mkdir(join(outside, 'logs'), { recursive: true });
  const cases: Array<{ config: Record<string, unknown>; key: RegExp; before?: (root: string) => Promise<void> }> = [
    { config: { mounts: { '/g': '.git' } }, key: /mounts\.\/g: Never served: \.git: a porthole\.config\.json cannot mount a hidden folder/, before: (r) => mkdir(join(r, '.git'), { recursive: true }).then(() => undefined) },
    // .git stays hidden even with dotfiles in the same file.
    { config: { dotfiles: true, mounts: { '/g': '.git/objects' } }, key: /mounts\.\/g: Never served: \.git/, before: (r) => mkdir(join(r, '.git', 'objects'), { recursive: true }).then(() => undefined) },
    { config: { mounts: { '/k': '../outside-h/.ssh' } }, key: /mounts\.\/k: Dotfiles are not served: \.ssh/ },
    { config: { mounts: { '/k': join(outside, '.ssh') } }, key: /mounts\.\/k: Dotfiles are not served: \.ssh/ },
    // A link named like a plain folder, to a hidden one: judged by its real path.
    { config: { mounts: { '/k': 'keys' } }, key: /mounts\.\/k: Dotfiles are not served: \.ssh/, before: (r) => symlink(join(outside, '.ssh'), join(r, 'keys')) },
    // helper-46's input: a cloned folder's file that shares the machine's files with any site.
    { config: { host: '0.0.0.0', mounts: { '/home': outside }, allowedHosts: ['evil.example'], followSymlinks: true }, key: /mounts\.\/home: ".*outside-h" is outside the served folder/ },
    { config: { mounts: { '/m': '/' } }, key: /mounts\.\/m: "\/" is outside the served folder/ },
    { config: { mounts: { '/up': '..' } }, key: /mounts\.\/up: "\.\." is outside the served folder/ },
    { config: { host: '0.0.0.0' }, key: /host: "0\.0\.0\.0" would share the folder on the network/ },
    { config: { allowedHosts: ['evil.example'] }, key: /allowedHosts: a porthole\.config\.json cannot add host names/ },
    { config: { followSymlinks: true }, key: /followSymlinks: a porthole\.config\.json cannot serve what symlinks lead to/ },
    { config: { proxy: { routes: [{ prefix: '/api', target: 'http://192.0.2.1:8080' }] } }, key: /proxy\.routes\[0\]\.target: "http:\/\/192\.0\.2\.1:8080" is on another machine/ },
    // helper-47: a link whose target ends in `..` after a link out. Node's JavaScript realpath
    // dropped `sub/up/..` as text and judged it inside; the kernel follows `up` first.
    {
      config: { mounts: { '/m': 'm' } },
      key: /mounts\.\/m: "m" is outside the served folder/,
      before: async (r) => {
        await mkdir(join(r, 'sub'), { recursive: true });
        await symlink(join(outside, 'logs'), join(r, 'sub', 'up'));
        await symlink('sub/up/..', join(r, 'm'));
      },
    },
    {
      config: { mounts: { '/g': 'g' } },
      key: /mounts\.\/g: Never served: \.git/,
      before: async (r) => {
        await mkdir(join(r, '.git', 'refs'), { recursive: true });
        await mkdir(join(r, 'sub'), { recursive: true });
        await symlink('../.git/refs', join(r, 'sub', 'x'));
        await symlink('sub/x/..', join(r, 'g'));
      },
    },
    {
      config: { logFile: 'L/pwned.log' },
      key: /logFile: "L\/pwned\.log" is outside the served folder/,
      before: async (r) => {
        await mkdir(join(r, 'sub'), { recursive: true });
        await symlink(join(outside, 'logs'), join(r, 'sub', 'up2'));
        await symlink('sub/up2/..', join(r, 'L'));
      },
    },
    // The log file itself a link out (appending would follow it), dangling or not.
    { config: { logFile: 'access.log' }, key: /logFile: "access\.log" is outside the served folder/, before: (r) => symlink(join(outside, 'logs', 'victim.log'), join(r, 'access.log')) },
    // Names the resolver would be asked about: `localhost.` goes to DNS.
    { config: { host: 'localhost.' }, key: /host: "localhost\." would share the folder on the network/ },
    { config: { proxy: { routes: [{ prefix: '/api', target: 'http://localhost.:3000' }] } }, key: /proxy\.routes\[0\]\.target: "http:\/\/localhost\.:3000" is on another machine/ },
    { config: { logFile: '../outside-h/logs/access.log' }, key: /logFile: "\.\.\/outside-h\/logs\/access\.log" is outside the served folder/ },
    { config: { logFile: join(outside, 'logs', 'abs.log') }, key: /logFile: .* is outside the served folder/ },
    // A folder of the root that is a link to outside cannot lead the log's writes out.
    { config: { logFile: 'out/access.log' }, key: /logFile: "out\/access\.log" is outside the served folder/, before: (r) => symlink(join(outside, 'logs'), join(r, 'out')) },
    // helper-48: client text appended to .git/config (git then fails), or to the folder's own files.
    { config: { logFile: '.git/config' }, key: /logFile: "\.git\/config" is in a hidden folder/, before: async (r) => { await mkdir(join(r, '.git'), { recursive: true }); await writeFile(join(r, '.git', 'config'), '[core]\n'); } },
    { config: { logFile: '.git/hooks/post-checkout' }, key: /logFile: "\.git\/hooks\/post-checkout" is in a hidden folder/ },
    { config: { logFile: 'logs/.access.log' }, key: /is in a hidden folder or is a hidden file/ },
    { config: { logFile: 'index.html' }, key: /logFile: "index\.html" is a file of the folder that is not a request log/, before: (r) => writeFile(join(r, 'index.html'), '<!doctype html><p>hi</p>\n') },
    { config: { logFile: 'porthole.config.json' }, key: /logFile: "porthole\.config\.json" is a file of the folder that is not a request log/ },
    // helper-48: a watch path that holds the folder walks and watches everything beside it ("/": 90,000 folders).
    { config: { reload: { watchPaths: ['/'] } }, key: /reload\.watchPaths: "\/" holds the served folder/ },
    { config: { reload: { watchPaths: ['..'] } }, key: /reload\.watchPaths: "\.\." holds the served folder/ },
    { config: { reload: { watchPaths: ['up'] } }, key: /reload\.watchPaths: "up" holds the served folder/, before: (r) => symlink('/', join(r, 'up')) },
  ];
  for (const c of cases) {
    const root = await rootWith(c.config);
    await c.before?.(root);
    const cli = runCli([root, '--port', '0', '--quiet'], base);
    assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit'), 1, JSON.stringify(c.config));
    assert.match(cli.stderr, c.key, JSON.stringify(c.config));
    assert.doesNotMatch(cli.stdout, /Local:/, 'nothing was started');
  }
  assert.equal(existsSync(join(outside, 'logs', 'access.log')), false);
  assert.equal(existsSync(join(outside, 'logs', 'abs.log')), false);
  assert.equal(existsSync(join(outside, 'pwned.log')), false);
  assert.equal(existsSync(join(outside, 'logs', 'victim.log')), false);
  // Inside the folder both stay allowed: a plain mount and a log file in a sub-folder.
  const ok = await rootWith({ mounts: { '/f': 'folder' }, logFile: 'logs/access.log' });
  await mkdir(join(ok, 'logs'), { recursive: true }); // the log's folder must exist, as for nginx
  const cli = runCli([ok, '--port', '0', '--quiet'], base);
  const port = await portOf(cli);
  assert.equal((await fetchOnce(port, request('/f/a.txt'))).body.toString(), 'a');
  await stopCli(cli);
  assert.equal(existsSync(join(ok, 'logs', 'access.log')), true);
  // A log it wrote before is appended to again.
  const again = runCli([ok, '--port', '0', '--quiet'], base);
  await portOf(again);
  await stopCli(again);
});

test('a mount whose folder does not exist exits 1 naming the folder and the prefix', async () => {
  const root = await rootWith(undefined);
  const cli = runCli([root, '--port', '0', '--quiet', '--mount', '/vendor=./nowhere'], base);
  const code = await withTimeout(cli.exited, WAIT_MS, 'exit');
  assert.equal(code, 1);
  assert.match(cli.stderr, new RegExp(`${join(base, 'nowhere').replace(/[.]/g, '\\.')} mounted at /vendor does not exist`));
  const fromFile = await rootWith({ mounts: { '/lib': 'missing-lib' } });
  const cli2 = runCli([fromFile, '--port', '0', '--quiet'], base);
  assert.equal(await withTimeout(cli2.exited, WAIT_MS, 'exit'), 1);
  assert.match(cli2.stderr, /missing-lib mounted at \/lib does not exist/);
});
