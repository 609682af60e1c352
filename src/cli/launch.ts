/**
 * The `porthole` command (dist/cli.js): runs the CLI's bundle, dist/cli-main.js (src/cli/main.ts),
 * through the code cache of compile-cache.ts, which is the whole reason this file exists: it
 * is small, so what Node compiles before the cache is read is small too.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runWithCompileCache } from './compile-cache';

/** The user's home folder; undefined when there is none (a uid without a passwd entry and no HOME): the CLI serves without a cache. */
function homeFolder(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

const bundle = join(__dirname, 'cli-main.js');
if (existsSync(bundle)) {
  runWithCompileCache(bundle, process.env, process.platform, homeFolder());
} else {
  // A copy of only this file, an interrupted install or build: said in one line, not as Node's stack trace.
  process.stderr.write(`porthole: ${bundle} is missing: this copy of Porthole is incomplete; build it again (npm run build) or install it again\n`);
  process.exitCode = 1;
}
