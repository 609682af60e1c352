/**
 * The CLI as a user runs it: `node dist/cli.js <root> --port 0 --log <file>`, a raw-TCP GET,
 * SIGINT → exit 0 with the log line written; plain-word failures (unknown flag, missing root) exit
 * 1; a busy port is said on stderr. Needs `npm run build` first (dist/cli.js).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { makeSite, type Site } from '../fixtures/make-site';
import { RawClient, fetchOnce, request, withTimeout } from '../core/raw-client';

/** out/test/cli → the repo root (the compiled test runs from out/). */
const REPO = resolve(__dirname, '..', '..', '..');
const CLI = join(REPO, 'dist', 'cli.js');
const WAIT_MS = 10_000;

let site: Site;
const children = new Set<ChildProcess>();

before(async () => {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`npm run build\` before the CLI tests`);
  }
  site = await makeSite({ bigSize: 1024 });
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await site.cleanup();
});

interface Cli {
  readonly child: ChildProcess;
  stdout: string;
  /** stdout exactly as the terminal would get it. */
  readonly stdoutBytes: Buffer[];
  stderr: string;
  readonly exited: Promise<number | null>;
}

function runCli(args: readonly string[]): Cli {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: site.base });
  children.add(child);
  const cli: Cli = {
    child,
    stdout: '',
    stdoutBytes: [],
    stderr: '',
    exited: new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code))),
  };
  const decoder = new StringDecoder('utf8');
  child.stdout?.on('data', (b: Buffer) => {
    cli.stdoutBytes.push(b);
    cli.stdout += decoder.write(b);
  });
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (cli.stderr += t));
  return cli;
}

/** Resolves with the port of the `Local: http://127.0.0.1:PORT/` line (bounded). */
function waitForLocal(cli: Cli): Promise<number> {
  return withTimeout(
    new Promise<number>((resolvePort, reject) => {
      const check = (): void => {
        const m = /Local: http:\/\/127\.0\.0\.1:(\d+)\//.exec(cli.stdout);
        if (m !== null) {
          cli.child.stdout?.off('data', check);
          resolvePort(Number(m[1]));
        }
      };
      cli.child.stdout?.on('data', check);
      void cli.exited.then((code) => reject(new Error(`the CLI exited (${code}) before listening: ${cli.stderr}`)));
      check();
    }),
    WAIT_MS,
    `the "Local:" line (stdout so far: ${JSON.stringify(cli.stdout)})`,
  );
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolveServer, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ port, host: '127.0.0.1' }, () => resolveServer(s));
  });
}

test('serves over TCP, logs, and exits 0 on SIGINT', async () => {
  const log = join(site.base, 'cli.log');
  const cli = runCli([site.root, '--port', '0', '--log', log]);
  const port = await waitForLocal(cli);
  const client = await RawClient.connect(port);
  try {
    await client.write(request('/hello.txt', { headers: ['User-Agent: cli-test'] }));
    const res = await client.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), site.hello);
    assert.equal(res.header('server'), 'Porthole');
  } finally {
    client.destroy();
  }
  cli.child.kill('SIGINT');
  const code = await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT');
  assert.equal(code, 0, cli.stderr);
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0] ?? '', /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/hello\.txt HTTP\/1\.1" 200 \d+ "-" "cli-test" \d+\.\d{3} \S+$/);
});

for (const workers of [[], ['--workers', '2']]) {
  test(`a second SIGINT closes every connection at once and still writes every answered line; exit 1 (${workers.length === 0 ? 'one process' : '--workers 2'})`, async () => {
    const log = join(site.base, `cli-second-sigint${workers.length}.log`);
    const cli = runCli([site.root, '--port', '0', '--quiet', '--log', log, ...workers]);
    const port = await waitForLocal(cli);
    // A request head left half-sent keeps the graceful stop waiting (up to closeGraceMs).
    const stuck = await RawClient.connect(port);
    await stuck.write('GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const client = await RawClient.connect(port);
    const answered = 20;
    try {
      for (let i = 0; i < answered; i++) await client.write(request(`/hello.txt?n=${i}`, { headers: ['User-Agent: second-sigint'] }));
      const responses = await client.readResponses(answered);
      assert.ok(responses.every((r) => r.status === 200));
      // The lines are in memory now (written at most FILE_FLUSH_MS later). The first SIGINT: once
      // the listener is closed it has been taken; the second follows at once, within that time.
      cli.child.kill('SIGINT');
      // Bounded: at most 2,000 probes, 2 ms apart.
      let refused = false;
      for (let probes = 0; probes < 2_000 && !refused; probes++) {
        refused = await new Promise<boolean>((done) => {
          const probe = connect(port, '127.0.0.1');
          probe.once('connect', () => {
            probe.destroy();
            setTimeout(() => done(false), 2);
          });
          probe.once('error', () => done(true));
        });
      }
      assert.ok(refused, 'the listener closed after the first SIGINT');
      cli.child.kill('SIGINT');
      assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after the second SIGINT'), 1, cli.stderr);
    } finally {
      client.destroy();
      stuck.destroy();
    }
    const lines = (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '');
    const served = lines.filter((l) => l.includes('"second-sigint"'));
    assert.equal(served.length, answered, lines.join('\n'));
    for (let i = 0; i < answered; i++) {
      assert.match(served[i] ?? '', new RegExp(`"GET /hello\\.txt\\?n=${i} HTTP/1\\.1" 200 `));
    }
    // The half-sent request is logged too, as cut short (400, aborted).
    assert.equal(lines.length, answered + 1, lines.join('\n'));
    assert.match(cli.stderr, /SIGINT again; closing every connection now and writing the log/);
  });
}

test('Ctrl-C during a download nobody reads: said at once with the wait and the count, then what was cut; pipelined requests behind it are logged as not answered', async () => {
  // Before: the terminal said nothing for the 2 s grace, nor after, and the two requests
  // pipelined behind the download were closed unanswered and appeared nowhere in the log.
  const log = join(site.base, 'cli-stop-download.log');
  await writeFile(join(site.root, 'stop-big.bin'), Buffer.alloc(48 * 1024 * 1024, 1));
  const cli = runCli([site.root, '--port', '0', '--quiet', '--log', log]);
  const port = await waitForLocal(cli);
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let got = 0;
  socket.on('data', (d: Buffer) => {
    got += d.length;
    // Read the start of the answer only: then the download stalls with the kernel's buffers full.
    if (got > 64 * 1024) socket.pause();
  });
  socket.write(
    'GET /stop-big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: stop-test\r\n\r\n' +
      'GET /hello.txt?behind=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: stop-test\r\n\r\n' +
      'GET /hello.txt?behind=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: stop-test\r\n\r\n',
  );
  try {
    const deadline = Date.now() + WAIT_MS;
    while (got <= 64 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const signalled = Date.now();
    cli.child.kill('SIGINT');
    const sayDeadline = Date.now() + 1_000;
    while (!/stopping/.test(cli.stderr) && Date.now() < sayDeadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(Date.now() - signalled < 1_000, `said at once, not after the grace: ${JSON.stringify(cli.stderr)}`);
    assert.match(cli.stderr, /^porthole: stopping \(SIGINT\): waiting up to 2 s for 1 open response \(press Ctrl-C again to stop now\)\n/);
    assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT'), 0, cli.stderr);
    assert.match(cli.stderr, /\nporthole: 1 response was cut short after 2 s \(logged as aborted\)\n/);
  } finally {
    socket.destroy();
  }
  const lines = (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0] ?? '', /"GET \/stop-big\.bin HTTP\/1\.1" 200 \d+ /);
  assert.match(lines[1] ?? '', /"GET \/hello\.txt\?behind=1 HTTP\/1\.1" 503 0 "-" "stop-test"/);
  assert.match(lines[2] ?? '', /"GET \/hello\.txt\?behind=2 HTTP\/1\.1" 503 0 "-" "stop-test"/);
});

test('--no-compression: text goes out as it is on disk; without it, a browser gets brotli', async () => {
  const text = 'compressible line of text\n'.repeat(200);
  await writeFile(join(site.root, 'cli-compress.txt'), text);
  for (const [args, coding] of [[[], 'br'], [['--no-compression'], undefined]] as const) {
    const cli = runCli([site.root, '--port', '0', '--quiet', ...args]);
    const port = await waitForLocal(cli);
    const res = await fetchOnce(port, request('/cli-compress.txt', { headers: ['Accept-Encoding: gzip, deflate, br'] }));
    assert.equal(res.status, 200);
    assert.equal(res.header('content-encoding'), coding, args.join(' '));
    if (coding === undefined) assert.equal(res.body.toString(), text);
    cli.child.kill('SIGINT');
    assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT'), 0, cli.stderr);
  }
});

test('an unknown flag exits 1 with a message', async () => {
  const cli = runCli([site.root, '--prot', '8000']);
  const code = await withTimeout(cli.exited, WAIT_MS, 'exit on an unknown flag');
  assert.equal(code, 1);
  assert.match(cli.stderr, /porthole: .*--prot/);
});

test('a value flag followed by a dash word: one line saying it needs a value, no escaped line break (helper-46, helper-138)', async () => {
  // (A negative number after a flag that takes one is joined to it: see plain-errors.test.ts.)
  // Node's own message here was three lines ("argument is ambiguous", "Did you forget…", the
  // `--log=-XYZ` advice), printed line by line (helper-46); it is now said in the words of --help.
  const cli = runCli([site.root, '--log', '-x']);
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit on an ambiguous value'), 1);
  assert.match(cli.stderr, /^porthole: --log needs a value: --log VALUE \(see --help\); the word after it, "-x", is read as an option \(a value that starts with a dash is written --log=VALUE\)\n/);
  assert.doesNotMatch(cli.stderr, /\\x0a/, 'no escaped line break');
});

test('--spa naming a file that cannot answer (missing, or hidden) starts, says why on stderr, and the banner never claims it answers (helper-46, helper-161)', async () => {
  // A hidden fallback is a file (a stat says so) that is never served: the banner asked only the
  // stat and said "gets /.shell.html" beside the server's warning that it is never served.
  const hidden = join(site.base, 'spa-hidden');
  await mkdir(hidden, { recursive: true });
  await writeFile(join(hidden, '.shell.html'), '<!doctype html><title>shell</title>\n');
  const cases: ReadonlyArray<readonly [string, readonly string[], string, RegExp]> = [
    ['missing', [site.root, '--spa=nope.html'], 'nope.html', /^porthole: the single-page app fallback \/nope\.html does not exist; navigations to missing paths get 404 meanwhile$/m],
    ['hidden', [hidden, '--spa=.shell.html'], '.shell.html', /^porthole: the single-page app fallback \/\.shell\.html is a hidden file, never served \(turn on dotfiles to serve it\); navigations to missing paths get 404 meanwhile$/m],
    ['hidden, --workers 2', [hidden, '--spa=.shell.html', '--workers', '2'], '.shell.html', /single-page app fallback \/\.shell\.html is a hidden file, never served/],
  ];
  for (const [name, args, file, warning] of cases) {
    const cli = runCli([...args, '--port', '0', '--quiet']);
    try {
      await withTimeout(
        (async () => {
          while (!warning.test(cli.stderr) || !/^SPA fallback: /m.test(cli.stdout)) await new Promise((r) => setTimeout(r, 20));
        })(),
        WAIT_MS,
        `${name}: the warning and the banner's SPA line (stdout: ${cli.stdout}; stderr: ${cli.stderr})`,
      );
      const line = /^SPA fallback: .*$/m.exec(cli.stdout)?.[0] ?? '';
      // Not said to answer: the two lines agree.
      assert.equal(line, `SPA fallback: /${file}, not answering now (the warning says why; a navigation to a missing path gets 404 until it can)`, name);
    } finally {
      cli.child.kill('SIGINT');
    }
    assert.equal(await withTimeout(cli.exited, WAIT_MS, `${name}: exit on SIGINT`), 0, name);
  }
});

test('--spa naming a page that is there: the banner says navigations to missing paths get it', async () => {
  const cli = runCli([site.root, '--port', '0', '--quiet', '--spa=index.html']);
  try {
    await withTimeout(
      (async () => {
        while (!/^SPA fallback: /m.test(cli.stdout)) await new Promise((r) => setTimeout(r, 20));
      })(),
      WAIT_MS,
      `the banner's SPA line (stdout: ${cli.stdout})`,
    );
    assert.match(cli.stdout, /^SPA fallback: a navigation to a missing path gets \/index\.html$/m);
    assert.doesNotMatch(cli.stderr, /single-page app fallback/);
  } finally {
    cli.child.kill('SIGINT');
  }
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit on SIGINT'), 0);
});

test('a missing root exits 1 with a plain message', async () => {
  const missing = join(site.base, 'no-such-folder');
  const cli = runCli([missing, '--port', '0']);
  const code = await withTimeout(cli.exited, WAIT_MS, 'exit on a missing root');
  assert.equal(code, 1);
  assert.equal(cli.stderr.trim(), `porthole: the root folder ${missing} does not exist; check the path, or create the folder (mkdir -p)`);
});

/** Runs the CLI expecting it to refuse the start: exit code and stderr. */
async function refused(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const cli = runCli(args);
  const code = await withTimeout(cli.exited, WAIT_MS, `exit on ${args.join(' ')}`);
  return { code, stderr: cli.stderr.trim() };
}

test('--cert and --key swapped, or a file that is no PEM: says what the file holds and what to give, not OpenSSL\'s "no start line"', async () => {
  // mkcert writes NAME.pem and NAME-key.pem; given the other way round, the CLI said
  // "…key.pem is not a PEM certificate: error:0480006C:PEM routines::no start line".
  const made = createSelfSignedCertificate(['localhost']);
  const cert = join(site.base, 'swap.pem');
  const key = join(site.base, 'swap-key.pem');
  const junk = join(site.base, 'junk.pem');
  await writeFile(cert, made.cert);
  await writeFile(key, made.key);
  await writeFile(junk, 'hello\n');
  const cases: [readonly string[], RegExp][] = [
    [['--cert', key, '--key', cert], /swap-key\.pem is not a PEM certificate: it holds a private key, not a certificate \(the certificate and the key may be swapped\); give the certificate/],
    [['--cert', cert, '--key', cert], /swap\.pem is not a PEM private key: it holds a certificate, not a private key \(the certificate and the key may be swapped\); give the private key/],
    [['--cert', junk, '--key', key], /junk\.pem is not a PEM certificate: it has no -----BEGIN …----- line, so it is no PEM file; give the certificate/],
    [['--cert', cert, '--key', junk], /junk\.pem is not a PEM private key: it has no -----BEGIN …----- line, so it is no PEM file; give the private key/],
  ];
  for (const [flags, expected] of cases) {
    const { code, stderr } = await refused([site.root, '--port', '0', ...flags]);
    assert.equal(code, 1, stderr);
    assert.match(stderr, expected);
  }
});

test('a file a flag or the root names that cannot be used: exit 1, the flag, what is wrong in words and what to do', async () => {
  const missing = join(site.base, 'no-such.pem');
  const folder = site.root;
  const pem = join(site.base, 'some.pem');
  await writeFile(pem, 'not read: the certificate fails first\n');
  const cases: [readonly string[], string][] = [
    [['--cert', missing, '--key', pem], `porthole: --cert: cannot read the certificate ${missing}: it does not exist (ENOENT); check the path`],
    [['--cert', folder, '--key', pem], `porthole: --cert: cannot read the certificate ${folder}: it is a folder (EISDIR); give the path of a file`],
    [['--cert', pem, '--key', join(pem, 'key.pem')], `porthole: --key: cannot read the private key ${join(pem, 'key.pem')}: ${pem} is a regular file, not a folder (ENOTDIR); check the path`],
  ];
  for (const [flags, expected] of cases) {
    const { code, stderr } = await refused([site.root, '--port', '0', ...flags]);
    assert.equal(code, 1, stderr);
    assert.equal(stderr, expected);
  }
  // The root: under a file, a file itself.
  const underFile = join(site.root, 'hello.txt', 'x');
  const a = await refused([underFile, '--port', '0']);
  assert.equal(a.code, 1);
  assert.equal(a.stderr, `porthole: the root folder ${underFile} does not exist: ${join(site.root, 'hello.txt')} is a regular file, not a folder; check the path`);
  const b = await refused([join(site.root, 'hello.txt'), '--port', '0']);
  assert.equal(b.code, 1);
  assert.equal(b.stderr, `porthole: the root ${join(site.root, 'hello.txt')} is not a folder; serve the folder it is in (${site.root})`);
  // An address the system will not listen on as written (link-local without its interface).
  const c = await refused([site.root, '--port', '0', '--host', 'fe80::1']);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /^porthole: (cannot listen on fe80::1 \(EINVAL: .*fe80::1%eth0\); use 127\.0\.0\.1|fe80::1 is not an address of this machine)/);
  assert.doesNotMatch(c.stderr, /\(EINVAL\)$/);
});

test('a busy port: stderr says "port N is in use; using N+1"', async () => {
  const blocker = await listenOn(0);
  const address = blocker.address();
  assert.ok(address !== null && typeof address === 'object');
  const busy = address.port;
  try {
    const cli = runCli([site.root, '--port', String(busy), '--quiet']);
    const port = await waitForLocal(cli);
    assert.notEqual(port, busy);
    cli.child.kill('SIGINT');
    assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT'), 0);
    // Read stderr once the process is gone: its pipe is not ordered with stdout's.
    assert.ok(cli.stderr.includes(`port ${busy} is in use; using ${port}`), cli.stderr);
    // N+1 unless that one happened to be busy too.
    if (port === busy + 1) assert.ok(cli.stderr.includes(`port ${busy} is in use; using ${busy + 1}`));
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()));
  }
});

/** Resolves once stdout has `count` lines matching `pattern` (bounded). */
function waitForLines(cli: Cli, pattern: RegExp, count: number): Promise<void> {
  return withTimeout(
    new Promise<void>((resolveLines) => {
      const check = (): void => {
        if (cli.stdout.split('\n').filter((l) => pattern.test(l)).length >= count) {
          cli.child.stdout?.off('data', check);
          resolveLines();
        }
      };
      cli.child.stdout?.on('data', check);
      check();
    }),
    WAIT_MS,
    `${count} request lines (stdout so far: ${JSON.stringify(cli.stdout)})`,
  );
}

test('client bytes never reach the terminal raw: ESC, BEL, C1 and bidi controls are printed escaped', async () => {
  const cli = runCli([site.root, '--port', '0']);
  const port = await waitForLocal(cli);
  const sent: Array<[target: string, host: string]> = [
    // The input: retitle the window, wipe the screen, cursor home (curl -g '…').
    ['/.%1b]0;X%07%1b[2J%1b[H', '127.0.0.1'],
    // OSC 52 (write the clipboard) and an 8-bit C1 CSI.
    ['/.%1b]52;c;ZXZpbA==%07', '127.0.0.1'],
    ['/.%c2%9b2J', '127.0.0.1'],
    // A right-to-left override in a decoded name.
    ['/.%e2%80%aeevil', '127.0.0.1'],
  ];
  for (const [target, host] of sent) {
    const res = await fetchOnce(port, request(target, { host }));
    assert.equal(res.status, 404);
  }
  // An Origin header carrying a raw C1 CSI byte (obs-text is valid in a field value): the live-reload
  // endpoint's 403 note quotes it.
  const hostile = Buffer.concat([
    Buffer.from('GET /__porthole/events HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil', 'latin1'),
    Buffer.from([0x9b, 0x32, 0x4a]),
    Buffer.from('\r\n\r\n', 'latin1'),
  ]);
  assert.equal((await fetchOnce(port, hostile)).status, 403);
  await waitForLines(cli, / (404|403) \d+B /, sent.length + 1);
  cli.child.kill('SIGINT');
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT'), 0);
  const out = Buffer.concat(cli.stdoutBytes);
  for (const [byte, name] of [[0x1b, 'ESC'], [0x07, 'BEL']] as const) {
    assert.equal(out.indexOf(byte), -1, `a raw ${name} reached stdout: ${JSON.stringify(cli.stdout)}`);
  }
  assert.equal(out.indexOf(Buffer.from('\u009b', 'utf8')), -1, 'a raw C1 CSI reached stdout');
  assert.equal(out.indexOf(Buffer.from('\u202e', 'utf8')), -1, 'a raw RLO reached stdout');
  assert.ok(cli.stdout.includes('Dotfiles are not served: .\\x1b]0;X\\x07\\x1b[2J\\x1b[H'), cli.stdout);
  assert.ok(cli.stdout.includes('Dotfiles are not served: .\\x1b]52;c;ZXZpbA==\\x07'), cli.stdout);
  assert.ok(cli.stdout.includes('Dotfiles are not served: .\\x9b2J'), cli.stdout);
  assert.ok(cli.stdout.includes('Dotfiles are not served: .\\u202eevil'), cli.stdout);
  assert.ok(cli.stdout.includes('Origin not allowed: http://evil\\x9b2J'), cli.stdout);
});

test('no request can make the terminal show another request: spaces that are not the space, and a method\'s raw bytes, are printed escaped (helper-119)', async () => {
  // Before: a method of latin1 bytes with 0xA0 between words, or a target with U+00A0, U+3000 and
  // U+2003, printed "GET /.env 200 812B 0ms" ahead of the line's real status.
  const cli = runCli([site.root, '--port', '0']);
  const port = await waitForLocal(cli);
  const viaMethod = Buffer.from('GET\xa0/.env\xa0200\xa0812B\xa00ms\xa0\xa0\xa0 /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'latin1');
  const viaTarget = Buffer.concat([
    Buffer.from('GET /.env', 'latin1'),
    Buffer.from('\u00a0200\u00a0812B\u00a00ms\u3000\u2003', 'utf8'),
    Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'latin1'),
  ]);
  const nonAscii = Buffer.from('G\xc3\xa9T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'latin1');
  for (const raw of [viaMethod, viaTarget, nonAscii]) assert.equal((await fetchOnce(port, raw)).status, 400);
  await waitForLines(cli, / 400 \d+B /, 3);
  cli.child.kill('SIGINT');
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT'), 0);
  assert.doesNotMatch(cli.stdout, /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u, 'a space that is not the space reached stdout');
  assert.ok(cli.stdout.includes(' GET\\xa0/.env\\xa0200\\xa0812B\\xa00ms\\xa0\\xa0\\xa0 /x 400 '), cli.stdout);
  assert.ok(cli.stdout.includes(' GET /.env\\xa0200\\xa0812B\\xa00ms\\u3000\\u2003 400 '), cli.stdout);
  assert.ok(cli.stdout.includes(' G\\xc3\\xa9T / 400 '), cli.stdout);
});

test('a client\'s 8 KB target or Host is cut in the terminal line (saying how much more), kept whole in the log file', async () => {
  const log = join(site.base, 'long-fields.log');
  const cli = runCli([site.root, '--port', '0', '--no-host-names', '--log', log]);
  const port = await waitForLocal(cli);
  const long = 'a'.repeat(7000);
  assert.equal((await fetchOnce(port, request(`/${long}`))).status, 404);
  assert.equal((await fetchOnce(port, request('/', { host: long }))).status, 403);
  await waitForLines(cli, / (404|403) \d+B /, 2);
  cli.child.kill('SIGINT');
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT'), 0);
  const lines = cli.stdout.split('\n').filter((l) => / (404|403) \d+B /.test(l));
  assert.equal(lines.length, 2, cli.stdout);
  for (const line of lines) assert.ok(line.length < 500, `a ${line.length}-character line`);
  assert.match(lines[0] ?? '', new RegExp(` GET /a{299}… \\(6701 more characters\\) 404 `));
  assert.match(lines[1] ?? '', new RegExp(` GET / 403 \\d+B \\d+ms — Host not allowed: a{282}… \\(6718 more characters\\)$`));
  // The log file has the whole target.
  assert.ok((await readFile(log, 'utf8')).includes(`"GET /${long} HTTP/1.1"`));
});

test('a cut target in the terminal line never splits an emoji (no U+FFFD) and counts what is left in characters', async () => {
  const log = join(site.base, 'cut-emoji.log');
  const cli = runCli([site.root, '--port', '0', '--no-host-names', '--log', log]);
  const port = await waitForLocal(cli);
  // Raw UTF-8 in a target (a 400, logged): '/' and 198 letters are 199 UTF-16 units, then each 😀 is two,
  // so the 300-unit cut falls between the halves of the 51st.
  const emoji = Buffer.from('\u{1f600}', 'utf8');
  const head = Buffer.concat([
    Buffer.from(`GET /${'a'.repeat(198)}`, 'latin1'),
    ...Array.from({ length: 75 }, () => emoji),
    Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'latin1'),
  ]);
  assert.equal((await fetchOnce(port, head)).status, 400);
  await waitForLines(cli, / 400 \d+B /, 1);
  cli.child.kill('SIGINT');
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT'), 0);
  const out = Buffer.concat(cli.stdoutBytes);
  assert.equal(out.indexOf(Buffer.from('\ufffd', 'utf8')), -1, `U+FFFD reached stdout: ${JSON.stringify(cli.stdout)}`);
  const line = cli.stdout.split('\n').find((l) => / 400 \d+B /.test(l)) ?? '';
  assert.ok(line.includes(` GET /${'a'.repeat(198)}${'\u{1f600}'.repeat(50)}… (25 more characters) 400 `), line);
  // The log file has every byte, escaped.
  assert.ok((await readFile(log, 'latin1')).includes(`"GET /${'a'.repeat(198)}${'\\xF0\\x9F\\x98\\x80'.repeat(75)} HTTP/1.1"`));
});

/** [argv after the root, what stderr must say: the flag, the value as shown, the reason] */
const INVALID_FLAGS: Array<[readonly string[], RegExp]> = [
  [['--allowed-client', '192.168.1.0/'], /--allowed-client "192\.168\.1\.0\/": has no prefix length after "\/"/],
  [['--allowed-client', '10.0.0.0/8', '--allowed-client', '192.168.1.0/2'], /--allowed-client "192\.168\.1\.0\/2": .*did you mean 192\.0\.0\.0\/2\?/],
  [['--allowed-client', '192.168.1.0/33'], /--allowed-client "192\.168\.1\.0\/33": has an invalid prefix length/],
  [['--allowed-host', '*.example.com'], /--allowed-host "\*\.example\.com": wildcards are not supported/],
  [['--allowed-host', 'http://my.test/'], /--allowed-host "http:\/\/my\.test\/": give the host name only/],
  [['--port', '70000'], /--port "70000": must be a whole number from 0 to 65535/],
  [['--port', '80a'], /--port "80a": is not a whole number from 0 to 65535/],
  [['--port', ''], /--port "": is not a whole number/],
  [['--host', ''], /--host "": is empty/],
  [['--host', '0.0.0.0/24'], /--host "0\.0\.0\.0\/24": is not an address/],
  [['--host', '[::1]'], /--host "\[::1\]": write an IPv6 address without brackets/],
  [['--log', ''], /--log "": is empty/],
  [['--reload-ignore', 'src/{a,b}'], /--reload-ignore "src\/\{a,b\}": character classes and braces/],
  [['--reload-ignore', '../elsewhere'], /--reload-ignore "\.\.\/elsewhere": climbs out of the served folder/],
  [['--reload-debounce', '10001'], /--reload-debounce "10001": must be a whole number from 0 to 10000/],
  [['--reload-debounce', 'fast'], /--reload-debounce "fast": is not a whole number/],
  [['--keep-alive-timeout', '0'], /--keep-alive-timeout "0": must be more than 0 and at most 3600 seconds/],
  [['--keep-alive-timeout', '5s'], /--keep-alive-timeout "5s": takes seconds/],
  [['--header-timeout', '99999'], /--header-timeout "99999": must be more than 0 and at most 3600 seconds/],
  [['--workers', '0'], /--workers "0": must be a whole number from 1 to 64/],
  [['--workers', 'two'], /--workers "two": is not a whole number from 1 to 64/],
  [['--cert', '', '--key', 'key.pem'], /--cert "": is empty: give the path of a PEM file/],
  [['--cert', 'cert.pem'], /--cert and --key go together/],
  [['--dotfiles=yes'], /--dotfiles' does not take an argument/],
  [['--no-listing=false'], /--no-listing' does not take an argument/],
  [['--quiet=0'], /--quiet' does not take an argument/],
  [['--https', '--cert', 'cert.pem', '--key', 'key.pem'], /--https makes its own certificate/],
  [['--key', '', '--cert', 'cert.pem'], /--key "": is empty/],
  // helper-49: messages in the words of --help, and the fix for a bare --spa before its file.
  [['--port'], /^porthole: --port needs a value: --port VALUE \(see --help\)$/m],
  [['--log'], /--log needs a value: --log VALUE/],
  // helper-138: a value flag followed by another option was Node's "argument is ambiguous" with
  // its `--flag=-XYZ` advice; now said as a missing value, naming the word that followed.
  [['--reload-ignore', '--quiet'], /^porthole: --reload-ignore needs a value: --reload-ignore VALUE \(see --help\); the word after it, "--quiet", is read as an option \(a value that starts with a dash is written --reload-ignore=VALUE\)$/m],
  [['-p', '--quiet'], /^porthole: --port needs a value: --port VALUE \(see --help\); the word after it, "--quiet"/m],
  [['--header', '-q'], /^porthole: --header needs a value: --header VALUE \(see --help\); the word after it, "-q"/m],
  [['--spa', 'index.html'], /a bare --spa takes no value .*write --spa=index\.html/],
  [['site', '--spa', 'app.html'], /write --spa=app\.html/],
  // Flags that act through live reload, beside --no-reload: taken and doing nothing before.
  [['--no-reload', '--watch', '.'], /^porthole: --watch does nothing with --no-reload .*; leave one of them out$/m],
  [['--no-reload', '--reload-ignore', 'dist/**'], /^porthole: --reload-ignore does nothing with --no-reload/m],
  [['--no-reload', '--reload-debounce', '50'], /^porthole: --reload-debounce does nothing with --no-reload/m],
  [['--no-reload', '--console', 'all'], /^porthole: --console all does nothing with --no-reload/m],
  // A long flag with one dash was read as one-letter flags: `-quiet` said "Unknown option '-u'",
  // `-host` "Unknown option '-o'", `-port 9000` (-p "ort") "one root folder only, got: … 9000".
  [['-port', '9000'], /^porthole: -port: a long option takes two dashes: write --port$/m],
  [['-quiet'], /^porthole: -quiet: a long option takes two dashes: write --quiet$/m],
  [['-host', '127.0.0.1'], /^porthole: -host: a long option takes two dashes: write --host$/m],
  // A one-letter option's value joined by `=` was taken with the `=` (helper-164: `-p=9770` said
  // the port "=9770" is not a number).
  [['-p=9770'], /^porthole: "-p=9770": a one-letter option takes its value after a space: write -p 9770 \(or --port=9770\)$/m],
  [['-q=1'], /^porthole: "-q=1": -q \(--quiet\) takes no value: write -q$/m],
  [['-p='], /^porthole: "-p=": a one-letter option takes its value after a space: write -p VALUE \(or --port=VALUE\)$/m],
  [['-p=9770 --open'], /^porthole: "-p=9770 --open": a one-letter option takes its value after a space: write -p '9770 --open' \(or --port='9770 --open'\)$/m],
  [['-weird'], /^porthole: Unknown option '-w' \(in -weird: one dash takes one-letter options, -p, -q, -h, -v; long options take two dashes\)$/m],
  // A misspelt flag is named with the nearest one, as a misspelt key of porthole.config.json is.
  [['--prot', '9000'], /^porthole: Unknown option '--prot' \(did you mean --port\?\)$/m],
  [['--no-listng'], /^porthole: Unknown option '--no-listng' \(did you mean --no-listing\?\)$/m],
  // A flag that takes one value, given twice: the last was taken without a word (helper-172:
  // `-p 9752 -p 9753` served on 9753; `--log a.log --log b.log` never made a.log).
  [['--port', '0', '-p', '9753'], /^porthole: --port was given twice \(--port "0", then -p "9753"\): give --port once$/m],
  [['--log', 'a.log', '--log=b.log'], /^porthole: --log was given twice \(--log "a\.log", then --log "b\.log"\): give --log once$/m],
  [['--console', 'off', '--console', 'all'], /^porthole: --console was given twice/m],
  [['--spa=a.html', '--spa=b.html'], /^porthole: --spa was given twice/m],
  // A value with terminal controls is quoted escaped: no raw ESC/BEL on stderr either.
  [['--allowed-host', '\u001b]0;X\u0007'], /--allowed-host "\\x1b\]0;X\\x07": is not a host name/],
];

test('every invalid flag value: exit 1, the flag, the value and the reason on stderr, nothing served', async () => {
  for (const [args, said] of INVALID_FLAGS) {
    // A case about the port gives its own (a second one would be refused as given twice).
    const namesPort = args.some((a) => a === '-p' || a === '--port' || a.startsWith('--port='));
    const cli = runCli([site.root, ...(namesPort ? [] : ['--port', '0']), ...args]);
    const code = await withTimeout(cli.exited, WAIT_MS, `exit on ${JSON.stringify(args)}`);
    assert.equal(code, 1, `${JSON.stringify(args)}: ${cli.stderr}`);
    assert.match(cli.stderr, said, JSON.stringify(args));
    assert.ok(!cli.stdout.includes('Local:'), `${JSON.stringify(args)} started a server: ${cli.stdout}`);
    assert.ok(!cli.stderr.includes('\u001b') && !cli.stderr.includes('\u0007'), `raw control characters on stderr: ${JSON.stringify(cli.stderr)}`);
  }
});

test('an unknown flag: its line and where the options are, not the 60 lines of --help that scroll it away (helper-108)', async () => {
  const cli = runCli([site.root, '--port', '0', '--prot', '9000']);
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit on --prot'), 1, cli.stderr);
  assert.equal(cli.stderr, "porthole: Unknown option '--prot' (did you mean --port?)\nporthole: nothing was started; `porthole --help` lists the options.\n");
});

test('--no-reload over the config file\'s reload.watchPaths: the banner does not claim a folder is watched; --console off beside it starts', async () => {
  const root = join(site.base, 'watch-off');
  const templates = join(site.base, 'watch-off-templates');
  await mkdir(root, { recursive: true });
  await mkdir(templates, { recursive: true });
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ reload: { watchPaths: ['../watch-off-templates'] } }));
  const off = runCli([root, '--port', '0', '--no-reload', '--console', 'off']);
  await waitForLocal(off);
  off.child.kill('SIGINT');
  assert.equal(await withTimeout(off.exited, WAIT_MS, 'exit on SIGINT'), 0, off.stderr);
  assert.doesNotMatch(off.stdout, /Watching also/);
  const on = runCli([root, '--port', '0']);
  await waitForLocal(on);
  on.child.kill('SIGINT');
  assert.equal(await withTimeout(on.exited, WAIT_MS, 'exit on SIGINT'), 0, on.stderr);
  assert.match(on.stdout, new RegExp(`^Watching also: ${templates.replace(/[.]/g, '\\.')}$`, 'm'));
});

test('an empty root folder argument is refused, not read as the current folder', async () => {
  const cli = runCli(['', '--port', '0']);
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit on an empty root'), 1);
  assert.match(cli.stderr, /the root folder "": is empty/);
});

test('--qr on this machine only: no code a phone could not open, but how to share (helper-49, h67 §12)', async () => {
  const cli = runCli([site.root, '--port', '0', '--qr']);
  await waitForLocal(cli);
  await withTimeout(
    new Promise<void>((done) => {
      const check = (): void => {
        if (/^No QR code: /m.test(cli.stdout)) done();
      };
      cli.child.stdout?.on('data', check);
      check();
    }),
    WAIT_MS,
    `the note (stdout: ${JSON.stringify(cli.stdout)})`,
  );
  cli.child.kill('SIGINT');
  await cli.exited;
  assert.match(
    cli.stdout,
    /^No QR code: this server listens on 127\.0\.0\.1 only, which a phone takes for itself\. To open it on a phone, share it on the network: porthole --host 0\.0\.0\.0 --qr \(see "Sharing on the network" in the README\)\.$/m,
  );
  assert.doesNotMatch(cli.stdout, /█|QR code for/);
});

test('--help fits an 80-column terminal: no line is wider (helper-151: lines of up to 109 columns wrapped mid-word)', async () => {
  const cli = runCli(['--help']);
  assert.equal(await withTimeout(cli.exited, 10_000, '--help exits'), 0);
  const lines = cli.stdout.split('\n');
  assert.ok(lines.length > 40, cli.stdout);
  const wide = lines.filter((line) => [...line].length > 80);
  assert.deepEqual(wide, []);
});
