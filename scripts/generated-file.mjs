// The one step every generator under scripts/ ends with (gen-config-validator.mjs,
// gen-media-types.mjs): write the generated file, or with --check compare it and exit 1 when it
// is out of date. Generators import it; it imports nothing of theirs.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

/**
 * Writes `text` to `outPath` (said on stdout, relative to `root`), or, when the command line has
 * `--check`, exits 1 saying `outPath` is out of date with `source` and to run `script` when the
 * file is missing or differs.
 */
export function writeOrCheck({ root, outPath, text, source, script }) {
  const shown = path.relative(root, outPath);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(outPath, 'utf8');
    } catch {
      // missing: out of date
    }
    if (current !== text) {
      process.stderr.write(`${shown} is out of date with ${source}: run node ${script}\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(outPath, text);
    process.stdout.write(`wrote ${shown} (${text.length} bytes)\n`);
  }
}
