// Shared helpers for the browser tests: launch Debian's Chromium through playwright-core (never a
// downloaded browser) and run the built CLI (dist/cli.js) on a free loopback port.
// Invariants: every wait is bounded; a started CLI is always stoppable with stop(), which is idempotent.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The repository root (two levels above this file). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The bundled CLI that `npm run build` writes. */
export const CLI_PATH = path.join(REPO_ROOT, 'dist', 'cli.js');

/** Flags for a quiet, offline, headless Chromium running as root in a container. */
export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]);

/** The `Local: http://127.0.0.1:PORT/` line the CLI prints once it listens (`[::1]` with --host ::1). */
const LOCAL_LINE = /Local:\s*(http:\/\/(?:127\.0\.0\.1|\[::1\]):(\d+)\/)/;

/**
 * @typedef {object} RunningCli
 * @property {string} url The printed base URL, ending with `/`.
 * @property {number} port
 * @property {import('node:child_process').ChildProcessWithoutNullStreams} proc
 * @property {string[]} stdoutLines Every stdout line so far (keeps filling while the CLI runs).
 * @property {() => string} stderr Everything written to stderr so far.
 * @property {() => Promise<{ code: number | null, signal: NodeJS.Signals | null }>} stop
 *   SIGINT, then SIGKILL after the stop timeout; idempotent.
 */

/**
 * Launches headless Chromium from `CHROMIUM_PATH` (default /usr/bin/chromium).
 * Resolves to a playwright-core Browser; the caller closes it.
 */
/**
 * @param {{ extraArgs?: string[] }} [options]
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchChromium({ extraArgs = [] } = {}) {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath} (set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 30_000,
  });
}

/**
 * Resolves true when `proc` exits within `ms`, false otherwise.
 * @param {import('node:child_process').ChildProcess} proc
 * @param {number} ms
 * @returns {Promise<boolean>}
 */
function waitForExit(proc, ms) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      proc.off('exit', onExit);
      resolve(false);
    }, ms);
    function onExit() {
      clearTimeout(timer);
      resolve(true);
    }
    proc.once('exit', onExit);
  });
}

/**
 * Spawns `node dist/cli.js ...args` (or `cliPath`) and waits (at most `startTimeoutMs`) for its `Local:` line.
 * Resolves to `{ url, port, proc, stdoutLines, stderr(), stop() }`:
 * - `url` is the printed base URL (ends with `/`), `port` its number;
 * - `stdoutLines` keeps filling while the CLI runs; `stderr()` returns everything written so far;
 * - `stop()` sends SIGINT, waits `stopTimeoutMs`, then SIGKILLs; it resolves to `{ code, signal }`.
 * Rejects (after killing the process) when the line does not come, quoting the CLI's stderr.
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, cliPath?: string, startTimeoutMs?: number,
 *   stopTimeoutMs?: number }} [options]
 * @returns {Promise<RunningCli>}
 */
export async function startCli(
  args,
  { cwd = REPO_ROOT, env = process.env, cliPath = CLI_PATH, startTimeoutMs = 10_000, stopTimeoutMs = 5_000 } = {},
) {
  if (!existsSync(cliPath)) {
    throw new Error(`${cliPath} does not exist: run \`npm run build\` first`);
  }
  const proc = spawn(process.execPath, [cliPath, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  /** @type {string[]} */
  const stdoutLines = [];
  let stderrText = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    stderrText += chunk;
  });
  const lines = createInterface({ input: proc.stdout, crlfDelay: Infinity });
  // Every line, from the first: one listener for the whole run (lines of the chunk that holds
  // "Local:" — the rest of the banner — are not lost between startup and the tests).
  lines.on('line', (line) => stdoutLines.push(line));

  /** @type {ReturnType<RunningCli['stop']> | undefined} */
  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGINT');
        if (!(await waitForExit(proc, stopTimeoutMs))) {
          proc.kill('SIGKILL');
          await waitForExit(proc, 2_000);
        }
      }
      lines.close();
      return { code: proc.exitCode, signal: proc.signalCode };
    })();
    return stopping;
  };

  /** @param {string} why */
  const describe = (why) =>
    `${why}\n  command: node ${cliPath} ${args.join(' ')}` +
    `\n  stdout: ${stdoutLines.join('\n          ') || '(empty)'}\n  stderr: ${stderrText.trim() || '(empty)'}`;

  /** @type {{ url: string, port: number }} */
  let found;
  try {
    found = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(describe(`the CLI printed no "Local:" line within ${startTimeoutMs} ms`)));
      }, startTimeoutMs);
      const onLine = (line) => {
        const match = LOCAL_LINE.exec(line);
        if (match) {
          cleanup();
          resolve({ url: match[1], port: Number(match[2]) });
        }
      };
      const onExit = (code, signal) => {
        cleanup();
        // Let stderr drain a moment so the message is complete.
        setTimeout(() => {
          reject(new Error(describe(`the CLI exited (code ${code}, signal ${signal}) before listening`)));
        }, 50);
      };
      const onError = (err) => {
        cleanup();
        reject(new Error(describe(`the CLI could not be spawned: ${err.message}`)));
      };
      function cleanup() {
        clearTimeout(timer);
        lines.off('line', onLine);
        proc.off('exit', onExit);
        proc.off('error', onError);
      }
      lines.on('line', onLine);
      proc.once('exit', onExit);
      proc.once('error', onError);
    });
  } catch (err) {
    await stop();
    throw err;
  }

  return { ...found, proc, stdoutLines, stderr: () => stderrText, stop };
}
