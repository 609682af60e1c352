/**
 * Editors' temporary, swap, lock and backup files: written next to the files being edited, never
 * part of a page, so their changes never reload one (and never turn a stylesheet save into a full
 * reload by landing in the same debounce window).
 *
 * Matched on the last path segment only, case-sensitively (the editors write these exact names):
 * - vim / neovim / nano: swap files `.name.swp` … `.swa`, `.swx` (vim's directory probe; a swap
 *   file kept in another folder is named `%path%name.swp`), `4913`
 *   (vim's "can I create a file here" probe; when taken it tries 4913 + 123·k), `name~` backups
 *   and `.name.un~` undo files;
 * - Emacs: `#name#` auto-saves, `.#name` locks (a symbolic link to nowhere), `name~` backups;
 * - JetBrains IDEs ("safe write"): `name___jb_tmp___`, `name___jb_old___`, `name___jb_bak___`;
 * - VS Code (atomic writes): `name.vsctmp`; browsers' File System Access (VS Code for the Web):
 *   `name.crswap`;
 * - Sublime Text (atomic save): `.subl<hex>.tmp`;
 * - Kate: `.name.kate-swp`; gedit and other GIO writers: `.goutputstream-XXXXXX`;
 * - office suites' locks: LibreOffice `.~lock.name#`, Microsoft Office `~$name`;
 * - file managers' metadata: `.DS_Store`, `Thumbs.db`, `desktop.ini`.
 */

const VIM_PROBE_FIRST = 4913;
const VIM_PROBE_STEP = 123;
/** Vim gives up long before this many probes; bounds the numeric names we treat as probes. */
const VIM_PROBE_TRIES = 1000;

const PATTERNS: readonly RegExp[] = [
  /^[.%].*\.sw[a-px]$/, // vim, nano swap files (.name.swp … .swa, .swx; %path%name.swp elsewhere)
  /~$/, // backups (vim, Emacs, gedit, Kate) and vim undo files (.name.un~)
  /^#.*#$/, // Emacs auto-save
  /^\.#/, // Emacs lock
  /___jb_(?:tmp|old|bak)___$/, // JetBrains safe write
  /\.vsctmp$/, // VS Code atomic write
  /\.crswap$/, // File System Access API swap file
  /^\.subl[0-9a-f]*\.tmp$/, // Sublime Text atomic save
  /\.kate-swp$/, // Kate
  /^\.goutputstream-[A-Za-z0-9]+$/, // gedit / GIO
  /^\.~lock\..*#$/, // LibreOffice
  /^~\$/, // Microsoft Office
  /^(?:\.DS_Store|Thumbs\.db|desktop\.ini)$/,
];

/** True when `name` (one path segment) is an editor's temporary, swap, lock or backup file. */
export function isEditorTempFile(name: string): boolean {
  if (/^[1-9][0-9]{3,6}$/.test(name)) {
    const n = Number(name);
    const k = (n - VIM_PROBE_FIRST) / VIM_PROBE_STEP;
    if (Number.isInteger(k) && k >= 0 && k < VIM_PROBE_TRIES) return true;
  }
  return PATTERNS.some((p) => p.test(name));
}
