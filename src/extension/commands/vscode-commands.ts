/**
 * Every command's handler, registered from the typed id table (node-command-ids.ts). Commands that
 * take a folder accept a Uri (explorer/editor menus) and otherwise ask when there is a choice.
 */
import * as vscode from 'vscode';
import { isLoopbackBind } from '../../core';
import type { CommandId } from './node-command-ids';
import { COMMANDS, REQUESTS_VIEW_ID } from './node-command-ids';
import { measureEventLoopDelay } from './node-event-loop';
import type { ServerState } from '../server/node-server-state';
import type { PortholeOutput } from '../output/vscode-output';
import { messageText } from '../output/node-format';
import type { RequestsViewProvider } from '../requests/vscode-requests-view';
import { targetUri } from '../requests/vscode-request-export';
import { requestKeyOf } from '../requests/node-request-store';
import type { ManagedServer, ServerManager } from '../server/vscode-server-manager';
import { isHtmlPath } from '../server/vscode-server-manager';
import type { Sharing } from '../sharing/vscode-sharing';
import { urlOf } from '../server/vscode-server-manager';
import type { PageOpener } from '../browser/vscode-browser';

export interface CommandDeps {
  readonly manager: ServerManager;
  readonly output: PortholeOutput;
  readonly requests: RequestsViewProvider;
  readonly sharing: Sharing;
  readonly pages: PageOpener;
}

/** What `porthole._state` returns (for tests). */
export interface ServerStateReport {
  readonly folder: string;
  readonly path: string;
  readonly state: ServerState;
  readonly requestCount: number;
  /** Pages connected to the live-reload stream (tabs, previews, devices). */
  readonly connectedPages: number;
}

export function registerCommands({ manager, output, requests, sharing, pages }: CommandDeps): vscode.Disposable[] {
  const folderOf = (uri: unknown): vscode.WorkspaceFolder | undefined =>
    uri instanceof vscode.Uri ? manager.folderFor(uri) : undefined;

  /** Running servers the command applies to: the uri's folder, the only one, or the user's pick. */
  const targets = async (uri: unknown, title: string): Promise<ManagedServer[]> => {
    const folder = folderOf(uri);
    if (folder) {
      const managed = manager.get(folder);
      return managed ? [managed] : [];
    }
    const active = manager.active();
    if (active.length <= 1) return active;
    const ALL = 'All servers';
    const picked = await vscode.window.showQuickPick(
      [{ label: ALL, description: '', server: undefined as ManagedServer | undefined },
        ...active.map((s) => ({ label: messageText(s.folder.name), description: urlOf(s.controller.state), server: s }))],
      { title },
    );
    if (!picked) return [];
    return picked.server ? [picked.server] : active;
  };

  /** A running server (the only one, or picked), going live first when none runs. */
  const runningServer = async (title: string): Promise<ManagedServer | undefined> => {
    const server = await manager.pickRunning(title);
    if (server) return server;
    // Nothing running: go live first (the command itself opens the page, not the setting).
    const folder = await manager.pickFolderToStart();
    if (!folder) return undefined;
    const state = await manager.start(folder, { openBrowser: false });
    return state.kind === 'running' ? manager.get(folder) : undefined;
  };
  const runningUrl = async (title: string): Promise<string | undefined> => {
    const server = await runningServer(title);
    return server ? urlOf(server.controller.state) || undefined : undefined;
  };

  /**
   * The page a command shows: `uri`'s file, else the active editor's HTML file, on its server;
   * else a running server's page (Go Live's choice: the active HTML file or `/`).
   */
  const pageFor = async (uri: unknown, title: string): Promise<{ server: ManagedServer; url: string } | undefined> => {
    const active = vscode.window.activeTextEditor?.document.uri;
    const file = uri instanceof vscode.Uri ? uri : active && active.scheme === 'file' && isHtmlPath(active.fsPath) ? active : undefined;
    if (file) return manager.serverForFile(file);
    const server = await runningServer(title);
    const state = server?.controller.state;
    return server && state?.kind === 'running' ? { server, url: manager.pageUrl(server.folder, state) } : undefined;
  };

  const handlers: Record<CommandId, (...args: unknown[]) => unknown> = {
    [COMMANDS.start]: async (uri?: unknown) => {
      // An HTML file outside every workspace folder (the editor title, no folder open): its folder.
      const folder = folderOf(uri) ?? (uri instanceof vscode.Uri && !vscode.workspace.workspaceFolders?.length ? manager.looseFolderFor(uri) : undefined) ?? (await manager.pickFolderToStart());
      return folder ? manager.start(folder, { openBrowser: true, file: uri instanceof vscode.Uri ? uri : undefined }) : undefined;
    },
    [COMMANDS.stop]: async (uri?: unknown) => {
      const servers = await targets(uri, 'Porthole: Stop');
      return Promise.all(servers.map((s) => manager.stop(s.folder)));
    },
    [COMMANDS.restart]: async (uri?: unknown) => {
      const servers = await targets(uri, 'Porthole: Restart');
      return Promise.all(servers.map((s) => manager.restart(s.folder)));
    },
    [COMMANDS.openInBrowser]: async () => {
      const server = await runningServer('Porthole: Open in Browser');
      const url = server ? urlOf(server.controller.state) : '';
      if (server && url) await pages.open(server, url);
      return url || undefined;
    },
    [COMMANDS.openFileInBrowser]: async (uri?: unknown) => {
      const file = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
      if (!file || file.scheme !== 'file') {
        void vscode.window.showInformationMessage('Porthole: open an HTML file of the workspace first.');
        return undefined;
      }
      const page = await manager.serverForFile(file);
      if (page) await pages.open(page.server, page.url);
      return page?.url;
    },
    [COMMANDS.openPreview]: async (uri?: unknown) => {
      const page = await pageFor(uri, 'Porthole: Open Preview to the Side');
      return page ? pages.preview(page.url) : undefined;
    },
    [COMMANDS.debugInBrowser]: async (uri?: unknown) => {
      const page = await pageFor(uri, 'Porthole: Debug in Browser');
      return page ? { url: page.url, started: await pages.debug(page.server, page.url) } : undefined;
    },
    [COMMANDS.copyUrl]: async () => {
      const url = await runningUrl('Porthole: Copy URL');
      if (!url) return undefined;
      await vscode.env.clipboard.writeText(url);
      void vscode.window.setStatusBarMessage(`Porthole: copied ${url}`, 3000);
      return url;
    },
    [COMMANDS.showLog]: () => output.show(),
    [COMMANDS.showRequests]: () => vscode.commands.executeCommand(`${REQUESTS_VIEW_ID}.focus`),
    [COMMANDS.clearRequests]: () => requests.clear(),
    [COMMANDS.pauseRequests]: () => requests.setPaused(true),
    [COMMANDS.resumeRequests]: () => requests.setPaused(false),
    [COMMANDS.exportHar]: (target?: unknown) => requests.exportHar(targetUri(target), false),
    [COMMANDS.exportHarWithCredentials]: (target?: unknown) => requests.exportHar(targetUri(target), true),
    [COMMANDS.copyAsCurl]: (arg?: unknown) => {
      const key = requestKeyOf(arg);
      return key === undefined ? undefined : requests.copyAsCurl(key);
    },
    [COMMANDS.shareOnNetwork]: (uri?: unknown) => sharing.share(folderOf(uri)),
    [COMMANDS.stopSharing]: (uri?: unknown) => sharing.stopSharing(folderOf(uri)),
    [COMMANDS.statusBarMenu]: async () => {
      const items: Array<vscode.QuickPickItem & { command: string }> = [
        { label: '$(globe) Open in Browser', command: COMMANDS.openInBrowser },
        { label: '$(preview) Open Preview to the Side', command: COMMANDS.openPreview },
        { label: '$(debug-alt) Debug in Browser', command: COMMANDS.debugInBrowser },
        { label: '$(copy) Copy URL', command: COMMANDS.copyUrl },
        { label: '$(list-tree) Show Requests', command: COMMANDS.showRequests },
        { label: '$(output) Show Request Log', command: COMMANDS.showLog },
        { label: '$(circle-slash) Stop', command: COMMANDS.stop },
        manager.active().some((s) => s.controller.state.kind === 'running' && !isLoopbackBind(s.controller.state.config.host))
          ? { label: '$(debug-disconnect) Stop Sharing', command: COMMANDS.stopSharing }
          : { label: '$(radio-tower) Share on Network', command: COMMANDS.shareOnNetwork },
      ];
      const picked = await vscode.window.showQuickPick(items, { title: 'Porthole', placeHolder: manager.active().map((s) => urlOf(s.controller.state)).join('  ') });
      if (picked) await vscode.commands.executeCommand(picked.command);
    },
    [COMMANDS.state]: (): ServerStateReport[] =>
      manager.all().map(({ folder, controller }) => ({
        folder: folder.name,
        path: folder.uri.fsPath,
        state: controller.state,
        requestCount: controller.requestCount,
        connectedPages: controller.connectedPages,
      })),
    [COMMANDS.measureEventLoop]: (durationMs?: unknown) =>
      measureEventLoopDelay(typeof durationMs === 'number' ? durationMs : 10_000),
  };

  return Object.entries(handlers).map(([id, handler]) => vscode.commands.registerCommand(id, handler));
}
