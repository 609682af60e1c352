/**
 * Porthole's entry point. `activate` only wires the pieces together and hands every disposable to
 * the context; `deactivate` returns the promise that stops every server (flushing their logs).
 */
import * as vscode from 'vscode';
import { CONFIG_SECTION, SETTING_KEYS } from './config/node-config';
import { RequestsViewProvider } from './requests/vscode-requests-view';
import { readFolderConfig } from './config/vscode-config';
import { registerCommands } from './commands/vscode-commands';
import { LiveReloadBridge } from './reload/vscode-live-reload';
import { PortholeOutput } from './output/vscode-output';
import { PageOpener } from './browser/vscode-browser';
import { ServerManager } from './server/vscode-server-manager';
import { Sharing } from './sharing/vscode-sharing';
import { StatusBar } from './status/vscode-status-bar';

let manager: ServerManager | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = new PortholeOutput();
  manager = new ServerManager(context, output);
  const { version } = context.extension.packageJSON as { version?: unknown };
  const requests = new RequestsViewProvider(context.extensionUri, manager, readFolderConfig(undefined).config.maxEntries, String(version));
  const sharing = new Sharing(context, manager, output, requests);
  const pages = new PageOpener(manager, output, context.logUri);
  context.subscriptions.push(
    output,
    manager,
    requests,
    sharing,
    pages,
    new StatusBar(manager),
    new LiveReloadBridge(manager),
    vscode.window.registerWebviewViewProvider(RequestsViewProvider.viewId, requests),
    manager.onRequests(({ server, records }) => {
      // The folder name only tells servers apart in a multi-root workspace.
      output.requests((vscode.workspace.workspaceFolders?.length ?? 0) > 1 ? server : undefined, records);
    }),
    manager.onConsole(({ server, entries }) => output.console((vscode.workspace.workspaceFolders?.length ?? 0) > 1 ? server : undefined, entries)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${CONFIG_SECTION}.${SETTING_KEYS.maxEntries}`)) {
        requests.setMaxEntries(readFolderConfig(undefined).config.maxEntries);
      }
    }),
    ...registerCommands({ manager, output, requests, sharing, pages }),
  );
  output.log('info', `Porthole ${String(version)} ready (Node ${process.version}).`);
}

export function deactivate(): Promise<void> | undefined {
  const m = manager;
  manager = undefined;
  return m?.shutdown();
}
