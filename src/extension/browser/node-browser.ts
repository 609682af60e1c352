/**
 * Which program opens a page (`porthole.browser`), pure: the setting → the command lines to try,
 * and starting one of them. Never through a shell: the URL is one argument, whatever it holds.
 *
 * `default` → VS Code's openExternal (the caller's job); `chrome`, `firefox`, `edge` → the usual
 * program names or install paths of this platform, tried in order; anything else is a command line
 * in which `%URL%` stands for the URL (added at the end when absent), split on spaces with "…" and
 * '…' quoting.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { timeoutAfterReads } from '../../core';

export const NAMED_BROWSERS = ['chrome', 'firefox', 'edge'] as const;
export type NamedBrowser = (typeof NAMED_BROWSERS)[number];

/** How long a started browser may take to fail (exit non-zero) before it counts as started. */
export const BROWSER_START_GRACE_MS = 1_500;

export type BrowserChoice =
  | { readonly kind: 'default' }
  /** Command lines to try in order (argv, the URL already in place); the first that starts wins. */
  | { readonly kind: 'program'; readonly label: string; readonly candidates: ReadonlyArray<readonly string[]> }
  | { readonly kind: 'invalid'; readonly reason: string };

/** The setting's value → what to run for `url`. `platform` and `env` are process.platform/env. */
export function browserChoice(setting: string, url: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): BrowserChoice {
  const value = setting.trim();
  if (value === '' || value.toLowerCase() === 'default') return { kind: 'default' };
  const named = value.toLowerCase();
  if ((NAMED_BROWSERS as readonly string[]).includes(named)) {
    return { kind: 'program', label: named, candidates: namedCandidates(named as NamedBrowser, platform, env).map((argv) => [...argv, url]) };
  }
  const words = splitCommandLine(value);
  if (words === undefined || words.length === 0) return { kind: 'invalid', reason: `porthole.browser "${value}" is not a command line (an unclosed quote?)` };
  const withUrl = words.some((w) => w.includes('%URL%')) ? words.map((w) => w.split('%URL%').join(url)) : [...words, url];
  return { kind: 'program', label: words[0] ?? value, candidates: [withUrl] };
}

/** Program names (PATH) or absolute paths for a named browser, in the order to try. */
function namedCandidates(name: NamedBrowser, platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[][] {
  if (platform === 'darwin') {
    const app = { chrome: 'Google Chrome', firefox: 'Firefox', edge: 'Microsoft Edge' }[name];
    return [['open', '-a', app]];
  }
  if (platform === 'win32') {
    const bases = [env.ProgramFiles, env['ProgramFiles(x86)'], env.LOCALAPPDATA].filter((b): b is string => typeof b === 'string' && b !== '');
    const rel = {
      chrome: path.win32.join('Google', 'Chrome', 'Application', 'chrome.exe'),
      firefox: path.win32.join('Mozilla Firefox', 'firefox.exe'),
      edge: path.win32.join('Microsoft', 'Edge', 'Application', 'msedge.exe'),
    }[name];
    return bases.map((b) => [path.win32.join(b, rel)]);
  }
  return {
    chrome: [['google-chrome'], ['google-chrome-stable'], ['chromium'], ['chromium-browser']],
    firefox: [['firefox']],
    edge: [['microsoft-edge'], ['microsoft-edge-stable']],
  }[name];
}

/** Splits a command line on whitespace, honouring "…" and '…' (no escapes); undefined on an open quote. */
export function splitCommandLine(line: string): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (const c of line) {
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) return undefined;
  if (inWord) words.push(word);
  return words;
}

export type StartResult = { readonly ok: true; readonly argv: readonly string[] } | { readonly ok: false; readonly reason: string };

/**
 * Starts the first candidate that runs (detached, no shell, no stdio). A candidate fails when it
 * cannot be spawned (ENOENT, EACCES) or exits non-zero within BROWSER_START_GRACE_MS; one still
 * running then, or done with 0 (a launcher that handed the URL to a running browser), started.
 */
export async function startBrowser(candidates: ReadonlyArray<readonly string[]>, graceMs = BROWSER_START_GRACE_MS): Promise<StartResult> {
  const reasons: string[] = [];
  for (const argv of candidates) {
    const [command, ...args] = argv;
    if (command === undefined) continue;
    const reason = await tryStart(command, args, graceMs);
    if (reason === undefined) return { ok: true, argv };
    reasons.push(`${command}: ${reason}`);
  }
  return { ok: false, reason: reasons.join('; ') || 'nothing to run' };
}

function tryStart(command: string, args: readonly string[], graceMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (reason: string | undefined): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      child.unref();
      resolve(reason);
    };
    const child = spawn(command, args, { detached: true, stdio: 'ignore', shell: false, windowsHide: false });
    child.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ENOENT' ? 'not found' : err.message));
    child.once('exit', (code, signal) => done(code === 0 ? undefined : `exited with ${code ?? signal ?? 'an error'}`));
    child.once('spawn', () => {
      // After that turn's reads: an exit in time behind a held-up loop is a failure, not a start.
      timer = timeoutAfterReads(graceMs, () => done(undefined));
    });
  });
}
