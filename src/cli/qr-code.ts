/**
 * The terminal QR code of --qr. uqr is loaded only here, when a code is drawn: nothing else needs
 * it at start-up.
 */
import type * as UqrModule from 'uqr';

/**
 * `text` (a URL) as a QR code of Unicode half blocks: one line per two rows of modules, light
 * modules drawn with █ (for a terminal with light text on dark), lines joined with `\n`, no final
 * line break. A quiet zone of 4 modules, as ISO/IEC 18004 asks (uqr's default of 1 is too narrow
 * for some phone cameras).
 */
export function renderQrCode(text: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { renderUnicodeCompact } = require('uqr') as typeof UqrModule;
  return renderUnicodeCompact(text, { border: 4 });
}
