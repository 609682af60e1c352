/**
 * Start-up errors that say what happened and what to do (h67 §12): a negative number after a
 * flag that takes one is judged as a value, not refused by Node's parseArgs as "ambiguous"; a
 * --host that names no address says the name did not resolve (not "tried ports"); --header
 * Server/Date says Porthole sends them itself; a config file's value of the wrong type says what
 * it is and how to write it, and a comment in it is located. And the QR code keeps its 4-module
 * quiet zone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { renderQrCode } from '../../src/cli/qr-code';
import { withTimeout } from '../core/raw-client';
import { CLI, WAIT_MS, runCli, runCommand, type Cli, siteFolderForTests } from './run-cli';


const site = siteFolderForTests('porthole-plain-errors-');

/** The CLI's exit code (bounded), asserting it started nothing. */
async function refused(cli: Cli, what: string): Promise<void> {
  assert.equal(await withTimeout(cli.exited, WAIT_MS, `exit on ${what}`), 1, `${what}: ${cli.stderr}`);
  assert.ok(!cli.stdout.includes('Local:'), `${what} started a server`);
}

test('a negative number after a flag that takes a number is judged as its value, as with "="', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--port', '-1'], /^porthole: --port "-1": is not a whole number from 0 to 65535/m],
    [['-p', '-1'], /^porthole: --port "-1": is not a whole number from 0 to 65535/m],
    [['--reload-debounce', '-5'], /^porthole: --reload-debounce "-5": is not a whole number from 0 to 10000/m],
    [['--workers', '-2'], /^porthole: --workers "-2": is not a whole number from 1 to 64/m],
    [['--header-timeout', '-1.5'], /^porthole: --header-timeout "-1\.5": takes seconds/m],
  ];
  for (const [args, said] of cases) {
    const cli = runCli([site.root, ...args], site.base);
    await refused(cli, args.join(' '));
    assert.match(cli.stderr, said, args.join(' '));
    assert.doesNotMatch(cli.stderr, /ambiguous|'--port=-XYZ'/, args.join(' '));
  }
});

test('--header Server or Date: Porthole sends it itself, said as such', async () => {
  for (const name of ['Server', 'Date']) {
    const cli = runCli([site.root, '--port', '0', '--header', `${name}: x`], site.base);
    await refused(cli, name);
    assert.match(cli.stderr, new RegExp(`^porthole: --header: Porthole sends ${name} itself on every answer, and an answer has one ${name} field; leave it out$`, 'm'));
    assert.doesNotMatch(cli.stderr, /frames the message/);
  }
  const framing = runCli([site.root, '--port', '0', '--header', 'Content-Length: 5'], site.base);
  await refused(framing, 'Content-Length');
  assert.match(framing.stderr, /--header: Content-Length frames the message or the connection, which Porthole sets from each answer itself; leave it out/);
});

// The name is looked up with no network at all (a network namespace of its own, loopback down),
// so no query leaves this machine: site.root only, where unshare(1) can make one.
const unshareWorks = process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'true']).status === 0;

test('--host naming no address: the lookup failure, in plain words, once (no "tried ports")', { skip: !unshareWorks && 'needs site.root and unshare -n' }, async () => {
  const cli = runCommand('unshare', ['-n', process.execPath, CLI, site.root, '--port', '19102', '--host', 'example.invalid'], site.base);
  await refused(cli, '--host example.invalid');
  assert.equal(
    cli.stderr,
    "porthole: the host name example.invalid could not be looked up (EAI_AGAIN: no name server answered); use 127.0.0.1, 0.0.0.0 or one of this machine's interface addresses\n",
  );
});

test('porthole.config.json errors say what the value is and how to write it; a comment is located', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['port as a string', '{"port": "8080"}', /porthole\.config\.json: port: must be an integer or null \(it is the string "8080"; write 8080 without quotes\)$/m],
    ['a boolean as a string', '{"listing": "false"}', /listing: must be a boolean \(it is the string "false"; write false without quotes\)$/m],
    ['headers as an object', '{"headers": {"X-A": "1"}}', /headers: must be an array \(it is an object; e\.g\. "headers": \[\{ "source": "\*\*\/\*\.wasm", "headers": \{ "Cache-Control": "no-store" \} \}\]\)$/m],
    ['a trailing comma', '{\n  "port": 0,\n  "listing": true,\n}', /porthole\.config\.json: not valid JSON at line 3, column 18: a comma after the last entry, which JSON does not allow; remove it$/m],
    ['a trailing comma in a list', '{"allowedHosts": ["a.test", ]}', /porthole\.config\.json: not valid JSON at line 1, column 27: a comma after the last entry, which JSON does not allow; remove it$/m],
    ['a comment', '{\n  "port": 0, // my port\n  "listing": true\n}', /not valid JSON at line 2, column 14: a comment, which JSON does not allow \(this file is plain JSON, not JSONC\); remove it$/m],
    // ajv's own words ("must NOT have fewer than 1 characters", "must be >= 1") in plain ones, with the value.
    ['an empty log file name', '{"logFile": ""}', /porthole\.config\.json: logFile: is empty: give a value, or remove it \(an absent key takes its default\)$/m],
    ['a port out of range', '{"port": 70000}', /porthole\.config\.json: port: must be at most 65535 \(it is 70000\)$/m],
    ['no connections', '{"maxConnections": 0}', /porthole\.config\.json: maxConnections: must be at least 1 \(it is 0\)$/m],
    // V8 gives no position for a bad token and quotes the file instead: the line and column are found.
    // A bare word is named, at its start, whichever of its bytes V8 stopped on (helper-161: `tru` read "Unexpected token ' '").
    ['a bare word', '{\n  "listing": false,\n  "dotfiles": True\n}', /porthole\.config\.json: not valid JSON at line 3, column 15: True is no JSON value \(a value is true, false, null, a number, "text in double quotes", an object or an array\)$/m],
    ['yes for true', '{"listing": yes}', /porthole\.config\.json: not valid JSON at line 1, column 13: yes is no JSON value \(/m],
    ['true misspelt', '{ "cleanUrls": tru }', /porthole\.config\.json: not valid JSON at line 1, column 16: tru is no JSON value \(/m],
    ['true misspelt before a brace', '{"cleanUrls": tru}', /porthole\.config\.json: not valid JSON at line 1, column 15: tru is no JSON value \(/m],
    ['a misplaced literal keeps V8\'s words', '{"listing": true false}', /porthole\.config\.json: not valid JSON at line 1, column 18 \(Expected ',' or '}' after property value\)$/m],
    ['a second closing brace', '{"listing": false}}', /porthole\.config\.json: not valid JSON at line 1, column 19 \(Unexpected non-whitespace character after JSON\)$/m],
    ['a byte that is not UTF-8', '{"listing": \xff}', /porthole\.config\.json: is not UTF-8 text: the byte 0xFF at line 1, column 13 is not UTF-8; save it as UTF-8 \(in VS Code: /m],
    // Inside a string the byte became U+FFFD and the file was taken: a log file named caf\uFFFD.log.
    ['a latin1 byte in a string', '{\n  "logFile": "caf\xe9.log"\n}', /porthole\.config\.json: is not UTF-8 text: the byte 0xE9 at line 2, column 18 is not UTF-8; save it as UTF-8/m],
    ['UTF-16 with its byte order mark', '\xff\xfe{\x00}\x00', /porthole\.config\.json: is UTF-16 text \(it begins with a UTF-16 byte order mark\), not UTF-8; save it as UTF-8/m],
    // U+FFFD itself (EF BF BD, valid UTF-8) where a value belongs: a JSON error, not an encoding one.
    ['U+FFFD written as UTF-8', '{"listing": \xef\xbf\xbd}', /porthole\.config\.json: not valid JSON at line 1, column 13 \(Unexpected token '\uFFFD'\)$/m],
  ];
  for (const [what, text, said] of cases) {
    const folder = join(site.base, what.replace(/\W+/g, '-'));
    await mkdir(folder);
    // Bytes as written (latin1: one char per byte, so every case spells its bytes).
    await writeFile(join(folder, 'porthole.config.json'), Buffer.from(text, 'latin1'));
    const cli = runCli([folder, '--port', '0'], site.base);
    await refused(cli, what);
    assert.match(cli.stderr, said, what);
  }
});

test('a root, mount, log or config file path the system refuses (a link loop, a socket): plain words and what to do, no Node error text', async () => {
  // Two links that lead to each other: every open or stat through them fails with ELOOP.
  const loop = join(site.base, 'loop-a');
  await symlink(join(site.base, 'loop-b'), loop);
  await symlink(loop, join(site.base, 'loop-b'));
  const loopSaid = /a symbolic link on its path leads round in a loop \(ELOOP\); fix or remove the link/;
  // A socket file: opening it for writing fails with ENXIO.
  const socketPath = join(site.base, 'log.sock');
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(socketPath, resolve));
  const configFolder = join(site.base, 'config-loop');
  await mkdir(configFolder);
  await symlink(join(configFolder, 'porthole.config.json'), join(configFolder, 'porthole.config.json'));
  try {
    const cases: Array<[string, string[], RegExp]> = [
      ['root', [loop, '--port', '0'], new RegExp(`^porthole: cannot use the root folder ${loop}: ${loopSaid.source}$`, 'm')],
      ['mount', [site.root, '--port', '0', '--mount', `/v=${loop}`], new RegExp(`^porthole: cannot use the folder ${loop} mounted at /v: ${loopSaid.source}$`, 'm')],
      ['log', [site.root, '--port', '0', '--log', loop], new RegExp(`^porthole: cannot write the log file ${loop}: ${loopSaid.source}$`, 'm')],
      ['config file', [configFolder, '--port', '0'], new RegExp(`porthole\\.config\\.json: cannot be read: ${loopSaid.source}; or start without it \\(--no-config`, 'm')],
      ['log a socket', [site.root, '--port', '0', '--log', socketPath], /cannot write the log file .*log\.sock: it is a socket or a device with nothing behind it, not a file \(ENXIO\); name a regular file$/m],
    ];
    for (const [what, args, said] of cases) {
      const cli = runCli(args, site.base);
      await refused(cli, what);
      assert.match(cli.stderr, said, what);
      // Node's own text ("ELOOP: too many symbolic links encountered, open '…'") is not what people read.
      assert.doesNotMatch(cli.stderr, /too many symbolic links|no such device or address|, (open|stat) '/, what);
    }
  } finally {
    listener.close();
  }
});

// A path through a symbolic link whose target is gone (helper-113): `mkdir -p` of the path, as
// the root's message advised, fails ("File exists") or makes the folder at the link's target
// unnamed; the message names the link and its missing target instead.
test('a root, a mount or a log folder that is (or passes through) a symbolic link to nothing: the link and its missing target are named, no mkdir -p', async () => {
  const target = join(site.base, 'gone', 'site');
  const dangling = join(site.base, 'dangling');
  await symlink(target, dangling);
  const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const said = (link: string): RegExp => new RegExp(`${esc(link)} is a symbolic link to ${esc(target)}, which does not exist; create ${esc(target)}, or point the link at a folder that exists`);
  const cases: Array<[string, string[], RegExp]> = [
    ['the root', [dangling, '--port', '0'], new RegExp(`^porthole: the root folder ${esc(dangling)} does not exist: ${said(dangling).source}$`, 'm')],
    ['a folder in the root', [join(dangling, 'public'), '--port', '0'], new RegExp(`^porthole: the root folder ${esc(join(dangling, 'public'))} does not exist: ${said(dangling).source}$`, 'm')],
    ['a mount', [site.root, '--port', '0', '--mount', `/v=${dangling}`], new RegExp(`^porthole: the folder ${esc(dangling)} mounted at /v does not exist: ${said(dangling).source}`, 'm')],
    ['the log folder', [site.root, '--port', '0', '--log', join(dangling, 'access.log')], new RegExp(`^porthole: cannot write the log file ${esc(join(dangling, 'access.log'))}: its folder ${said(dangling).source}$`, 'm')],
  ];
  for (const [what, args, expected] of cases) {
    const cli = runCli(args, site.base);
    await refused(cli, what);
    assert.match(cli.stderr, expected, what);
    assert.doesNotMatch(cli.stderr, /mkdir -p/, what);
  }
});

test('the QR code has a quiet zone of 4 modules (compact: a line is two rows; █ both light, ▀ the upper)', () => {
  const lines = renderQrCode('http://192.168.1.20:8347/').split('\n');
  for (const line of lines.slice(0, 2)) assert.match(line, /^█{20,}$/, 'four light rows at the top');
  // The code has an odd number of rows: the last line's lower half is no row.
  assert.match(lines.at(-2) ?? '', /^█{20,}$/);
  assert.match(lines.at(-1) ?? '', /^▀{20,}$/);
  for (const line of lines.slice(2, -2)) assert.match(line, /^█{4}.*█{4}$/, 'four light columns at each side');
});
