#!/usr/bin/env node
// The README the .vsix carries (`npm run package` passes it to vsce with --readme-path): the
// project's README.md without the sections for the project's developers — "Speed" (the
// benchmark's method and its tables of figures), "Tests" and "Layout" — each replaced by one line
// saying where it is. What the editor's Extensions view shows is the user's part; the figures are
// the larger half of the file, and the .vsix stays under its 500 KiB bound (test/e2e/ui.test.mjs)
// as the README grows.
//
//   node scripts/vsix-readme.mjs        writes dist/README.vsix.md
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Level-2 sections left out, by heading. */
const LEFT_OUT = new Set(['Speed', 'Tests', 'Layout']);
export const VSIX_README = join(repo, 'dist', 'README.vsix.md');

/**
 * `markdown` without the level-2 sections named in LEFT_OUT (each up to the next `## ` heading,
 * its subsections with it), each replaced by a line naming it. Headings inside fenced code blocks
 * are not headings.
 */
export function vsixReadme(markdown) {
  const out = [];
  let skipping = false;
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^(```|~~~)/.test(line)) fenced = !fenced;
    const heading = !fenced && /^## (.+)$/.exec(line);
    if (heading) {
      skipping = LEFT_OUT.has(heading[1].trim());
      if (skipping) {
        out.push(line, '', `This section (for the project's developers) is in the README.md of Porthole's source, beside \`package.json\`.`, '');
        continue;
      }
    }
    if (!skipping) out.push(line);
  }
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = vsixReadme(readFileSync(join(repo, 'README.md'), 'utf8'));
  for (const name of LEFT_OUT) if (!text.includes(`## ${name}\n`)) throw new Error(`README.md has no "## ${name}" section: update LEFT_OUT in scripts/vsix-readme.mjs`);
  mkdirSync(dirname(VSIX_README), { recursive: true });
  writeFileSync(VSIX_README, text);
  console.log(`${VSIX_README}: ${Buffer.byteLength(text)} bytes (README.md: ${Buffer.byteLength(readFileSync(join(repo, 'README.md')))})`);
}
