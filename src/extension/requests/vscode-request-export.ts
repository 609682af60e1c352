/**
 * The Requests view's exports: "Export Requests as HAR" (the kept requests to a .har file, through
 * the save dialog or to a given Uri) and "Copy as curl" (one request to the clipboard). The files'
 * and commands' contents are built by node-har.ts and node-curl.ts; this file only talks to VS Code.
 */
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { methodForDisplay, targetForDisplay, type RequestRecord } from '../../core';
import { MESSAGE_MAX, messageText } from '../output/node-format';
import { isInsideRoot } from '../reload/node-live-reload';
import { buildCurl } from './node-curl';
import { buildHar, defaultHarFileName } from './node-har';
import type { RequestStore, StoredRequest } from './node-request-store';

/** What `porthole.exportHar` resolves to (for tests and automation); undefined when cancelled. */
export interface HarExportResult {
  readonly path: string;
  readonly entries: number;
}

/**
 * A target given to the command: a Uri, or an absolute file path / `file:` URI string
 * (automation); undefined for none (the save dialog asks). A relative path is refused with why:
 * Uri.file made `out.har` the file `/out.har` at the file system's root, relative to no folder.
 */
export function targetUri(target: unknown): vscode.Uri | { readonly problem: string } | undefined {
  if (target instanceof vscode.Uri) return target;
  if (typeof target !== 'string' || target === '') return undefined;
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(target)) return vscode.Uri.parse(target, true);
  if (path.isAbsolute(target)) return vscode.Uri.file(target);
  return { problem: `Porthole: did not export to "${messageText(target, MESSAGE_MAX)}": it is not an absolute path, so no folder says where it is. Give an absolute path or a file: URI.` };
}

/** A folder a running server serves (ServerManager.servedFolders), with its URL. */
export interface ServedFolder {
  readonly folder: string;
  readonly url: string | undefined;
}

/** `file` without symbolic links in its folder (as the server resolves paths); `file` when that folder does not exist. */
function realFile(file: string): string {
  try {
    return path.join(realpathSync.native(path.dirname(file)), path.basename(file));
  } catch {
    return file;
  }
}

/** The served folder `uri` lies in, if any: a file written there is every client's to download. */
function servedFolderOf(uri: vscode.Uri, served: readonly ServedFolder[]): ServedFolder | undefined {
  if (uri.scheme !== 'file') return undefined;
  const file = uri.fsPath;
  const real = realFile(file);
  return served.find((s) => {
    let folder = s.folder;
    try {
      folder = realpathSync.native(s.folder);
    } catch {
      // A folder that does not exist serves nothing; compared as written.
    }
    return isInsideRoot(s.folder, file) || isInsideRoot(folder, real);
  });
}

/**
 * Writes the store's requests (oldest first) as HAR 1.2 to `target`, or to where the save dialog
 * says (default: `porthole-<date>.har` in the home folder, outside every served folder). Sensitive
 * headers are left out unless `includeSensitive`. Says what happened in the status bar, or what
 * went wrong and what to do in an error message.
 */
export async function exportHar(
  store: RequestStore,
  creatorVersion: string,
  target: ReturnType<typeof targetUri>,
  includeSensitive: boolean,
  served: readonly ServedFolder[] = [],
): Promise<HarExportResult | undefined> {
  if (target !== undefined && !(target instanceof vscode.Uri)) {
    void vscode.window.showErrorMessage(target.problem);
    return undefined;
  }
  // Pages' console messages share the store with requests; a HAR holds requests only.
  const items = store.all().filter((item): item is Extract<StoredRequest, { record: RequestRecord }> => item.record !== undefined);
  if (items.length === 0) {
    void vscode.window.showInformationMessage('Porthole: there are no requests to export yet. Go Live, open the page, then export.');
    return undefined;
  }
  const uri =
    target ??
    (await vscode.window.showSaveDialog({
      title: includeSensitive ? 'Export Requests as HAR (with credentials)' : 'Export Requests as HAR',
      saveLabel: 'Export',
      defaultUri: vscode.Uri.joinPath(vscode.Uri.file(homedir()), defaultHarFileName(new Date())),
      filters: { 'HTTP Archive': ['har'] },
    }));
  if (uri === undefined) return undefined;
  // The file holds every kept request's URL, query and headers (with credentials: cookies and
  // Authorization); in a served folder the server hands it to anyone who asks for its name.
  const inside = servedFolderOf(uri, served);
  if (inside !== undefined) {
    void vscode.window.showErrorMessage(
      messageText(
        `Porthole: did not export to ${uri.fsPath}: it is inside ${inside.folder}, which Porthole serves${inside.url ? ` at ${inside.url}` : ''}, so every client that may connect could download it${includeSensitive ? ', credentials included' : ''}. Choose a folder outside the served ones (the dialog suggests your home folder).`,
        MESSAGE_MAX,
      ),
    );
    return undefined;
  }
  const har = buildHar(items, { creatorVersion, includeSensitive });
  try {
    await vscode.workspace.fs.writeFile(uri, Buffer.from(`${JSON.stringify(har, null, 2)}\n`, 'utf8'));
  } catch (e) {
    void vscode.window.showErrorMessage(messageText(`Porthole: could not write ${uri.fsPath}: ${e instanceof Error ? e.message : String(e)}. Choose a folder you can write to.`, MESSAGE_MAX));
    return undefined;
  }
  const count = har.log.entries.length;
  vscode.window.setStatusBarMessage(messageText(`Porthole: exported ${count} request${count === 1 ? '' : 's'} to ${uri.fsPath}`, MESSAGE_MAX), 5000);
  return { path: uri.fsPath, entries: count };
}

/**
 * Copies `item` as a curl command line. A request that had a body gets `--data-binary @-` and a
 * message saying the body is read from standard input (Porthole keeps no bodies). Resolves the
 * command, or undefined for a request whose request line could not be parsed.
 */
export async function copyAsCurl(item: StoredRequest | undefined): Promise<string | undefined> {
  if (item === undefined) {
    void vscode.window.showInformationMessage('Porthole: that request is no longer kept (the list was cleared or it was dropped).');
    return undefined;
  }
  if (item.record === undefined) {
    void vscode.window.showInformationMessage('Porthole: that row is a page\'s console message, not a request; choose a request to copy as curl.');
    return undefined;
  }
  const record = item.record;
  const curl = buildCurl(record);
  if (curl === undefined) {
    void vscode.window.showInformationMessage('Porthole: that request line could not be parsed, so there is no URL to copy.');
    return undefined;
  }
  await vscode.env.clipboard.writeText(curl.command);
  // The request's own words, in a message that reads markup: messageText.
  const what = messageText(`${methodForDisplay(record.method)} ${targetForDisplay(record.target)}`);
  if (curl.needsBody) {
    void vscode.window.showInformationMessage(
      `Porthole: copied ${what} as curl. Porthole does not keep request bodies: the command reads the body from standard input (--data-binary @-), e.g. append \`< body.json\`.`,
    );
  } else {
    vscode.window.setStatusBarMessage(`Porthole: copied ${what} as curl`, 3000);
  }
  return curl.command;
}
