/** URL building for "Open Current File in Browser". Pure. */
import * as path from 'node:path';
import { isInsideRoot } from './node-live-reload';

/**
 * The URL of `filePath` on a server whose document root is `root` and base URL is `baseUrl`
 * (ending in '/'), or undefined when the file is not inside the root. Every segment is
 * percent-encoded; `index.html` stays explicit (the user asked for that file).
 */
export function fileUrl(baseUrl: string, root: string, filePath: string): string | undefined {
  if (!isInsideRoot(root, filePath)) return undefined;
  const rel = path.relative(root, filePath);
  if (rel === '') return baseUrl;
  const encoded = rel.split(path.sep).map((s) => encodeURIComponent(s)).join('/');
  return new URL(encoded, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
}
