/**
 * Spawns the built CLI (dist/cli.js) as a user runs it and reads what it prints: every wait is
 * bounded, and after() kills whatever a test left running. Needs `npm run build` first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect, type Socket } from 'node:net';
import { withTimeout } from '../core/raw-client';

/** out/test/cli → the repo root (the compiled test runs from out/). */
export const REPO = resolve(__dirname, '..', '..', '..');
export const CLI = join(REPO, 'dist', 'cli.js');
export const WAIT_MS = 10_000;

export interface Cli {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

const children = new Set<ChildProcess>();

/** Throws when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before the CLI tests`);
}

/**
 * Starts `porthole <args>` in `cwd` with `env` added to this process's environment; `detached`:
 * in a process group of its own (its pid is the group's id), as a shell starts a job.
 */
export function runCli(args: readonly string[], cwd: string, env: Record<string, string | undefined> = {}, detached = false): Cli {
  return runCommand(process.execPath, [CLI, ...args], cwd, env, detached);
}

/**
 * The uid and gid a permission test runs the CLI as: nobody (65534) when the tests run as root
 * (root reads every file, so EACCES never happens to it), else this process's own (undefined).
 */
export const UNPRIVILEGED: { readonly uid: number; readonly gid: number } | undefined = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;

/** Starts `porthole <args>` like runCli, as UNPRIVILEGED's user (`cwd` must be open to it). */
export function runCliUnprivileged(args: readonly string[], cwd: string, env: Record<string, string | undefined> = {}): Cli {
  return runCommand(process.execPath, [CLI, ...args], cwd, env, false, UNPRIVILEGED);
}

/**
 * Starts `command args` like runCli (e.g. bash setting a ulimit, then exec'ing the CLI);
 * `detached` as runCli's; `as`: the uid and gid to run it as (needs root).
 */
export function runCommand(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
  detached = false,
  as?: { readonly uid: number; readonly gid: number },
): Cli {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd,
    env: { ...process.env, ...env },
    detached,
    ...(as === undefined ? {} : { uid: as.uid, gid: as.gid }),
  });
  children.add(child);
  const cli: Cli = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code))),
  };
  child.stdout?.setEncoding('utf8').on('data', (t: string) => (cli.stdout += t));
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (cli.stderr += t));
  return cli;
}

/**
 * The pids of the cluster workers of the primary `primary` that run (its children, from /proc;
 * [] where there is no /proc). A child counts once it runs Node, which starts threads of its own
 * before any of its code: one just forked, until it executes node, is a copy of the primary with
 * one thread, the primary's descriptors (the listening socket among them) and its signal
 * handlers. Counted as a worker, it made a test edit the config file before the worker had read
 * it (CI: that worker then started with the edit and served another listing) or signal it before
 * it had handlers of its own.
 */
export function runningWorkerPids(primary: number): number[] {
  let children: string[];
  try {
    children = readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
  return children.map(Number).filter((pid) => {
    try {
      return Number(/^Threads:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0') > 1;
    } catch {
      return false;
    }
  });
}

/** The port of the `Local:` line (bounded; rejects if the CLI exits first). */
export async function waitForLocalPort(cli: Cli): Promise<number> {
  return Number((await waitForLocalUrl(cli)).url.port);
}

/**
 * Resolves with the `Local: <url>` line's URL exactly as printed (bounded; rejects if the CLI
 * exits first): `authority` is its host[:port] text, unnormalised, as curl would send it in Host.
 */
export function waitForLocalUrl(cli: Cli): Promise<{ readonly text: string; readonly authority: string; readonly url: URL }> {
  return withTimeout(
    new Promise((resolveUrl, reject) => {
      const check = (): void => {
        const m = /^Local: (\S+)$/m.exec(cli.stdout);
        if (m !== null) {
          cli.child.stdout?.off('data', check);
          const text = m[1] ?? '';
          resolveUrl({ text, authority: /^[a-z]+:\/\/([^/]+)\//.exec(text)?.[1] ?? '', url: new URL(text) });
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

/** SIGINT, then the exit code (bounded). */
export async function stopCli(cli: Cli): Promise<number | null> {
  if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGINT');
  return withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT');
}

/** Kills every CLI still running (for after()). */
export function killAllClis(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * A test file's site: `<tmp>/<prefix>XXXXXX/site` holding an index.html, made before the file's
 * tests (the built CLI required) and removed after them, every CLI they started killed. `base`
 * and `root` are set once `before` has run.
 */
export function siteFolderForTests(prefix: string): { base: string; root: string } {
  const folder = { base: '', root: '' };
  before(async () => {
    requireBuiltCli();
    folder.base = await mkdtemp(join(tmpdir(), prefix));
    folder.root = join(folder.base, 'site');
    await mkdir(folder.root);
    await writeFile(join(folder.root, 'index.html'), '<!doctype html><p>hello</p>');
  });
  after(async () => {
    killAllClis();
    await rm(folder.base, { recursive: true, force: true });
  });
  return folder;
}

/**
 * Resolves once `cli.stderr` matches `pattern`; rejects when the CLI exits first or after WAIT_MS,
 * naming `what` and quoting stderr as it is then.
 */
export async function waitForStderr(cli: Cli, pattern: RegExp, what = `stderr matching ${pattern}`): Promise<void> {
  let exited = false;
  void cli.exited.then(() => (exited = true));
  const deadline = Date.now() + WAIT_MS;
  while (!pattern.test(cli.stderr)) {
    if (exited) throw new Error(`the CLI exited before ${what}; stderr: ${JSON.stringify(cli.stderr)}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}; stderr: ${JSON.stringify(cli.stderr)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Opens the live-reload event stream of the server on 127.0.0.1:`port` and reads it into
 * `into.text` until the socket is destroyed; resolves once the response head is in (bounded).
 */
export async function eventStream(port: number, into: { text: string }): Promise<Socket> {
  const stream = connect(port, '127.0.0.1');
  stream.setEncoding('utf8').on('data', (t: string) => (into.text += t));
  stream.on('error', () => undefined);
  stream.write(`GET /__porthole/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  await withTimeout(
    (async () => {
      while (!into.text.includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 20));
    })(),
    WAIT_MS,
    'the event stream',
  );
  return stream;
}
