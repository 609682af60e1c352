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
import type { RequestsViewProvider } from '../requests/vscode-requests-view';
import type { ManagedServer, ServerManager } from '../server/vscode-server-manager';
import type { Sharing } from '../sharing/vscode-sharing';
import { openExternal, urlOf } from '../server/vscode-server-manager';

export interface CommandDeps {
  readonly manager: ServerManager;
  readonly output: PortholeOutput;
  readonly requests: RequestsViewProvider;
  readonly sharing: Sharing;
}

/** What `porthole._state` returns (for tests). */
export interface ServerStateReport {
  readonly folder: string;
  readonly path: string;
  readonly state: ServerState;
  readonly requestCount: number;
}

export function registerCommands({ manager, output, requests, sharing }: CommandDeps): vscode.Disposable[] {
  const folderOf = (uri: unknown): vscode.WorkspaceFolder | undefined =>
    uri instanceof vscode.Uri ? vscode.workspace.getWorkspaceFolder(uri) : undefined;

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
        ...active.map((s) => ({ label: s.folder.name, description: urlOf(s.controller.state), server: s }))],
      { title },
    );
    if (!picked) return [];
    return picked.server ? [picked.server] : active;
  };

  const runningUrl = async (title: string): Promise<string | undefined> => {
    const server = await manager.pickRunning(title);
    if (server) return urlOf(server.controller.state) || undefined;
    // Nothing running: go live first (the command itself opens the page, not the setting).
    const folder = await manager.pickFolderToStart();
    if (!folder) return undefined;
    const state = await manager.start(folder, { openBrowser: false });
    return state.kind === 'running' ? state.address.url : undefined;
  };

  const handlers: Record<CommandId, (...args: unknown[]) => unknown> = {
    [COMMANDS.start]: async (uri?: unknown) => {
      const folder = folderOf(uri) ?? (await manager.pickFolderToStart());
      return folder ? manager.start(folder, { openBrowser: true }) : undefined;
    },
    [COMMANDS.stop]: async (uri?: unknown) => {
      const servers = await targets(uri, 'Porthole: Stop');
      return Promise.all(servers.map((s) => s.controller.stop()));
    },
    [COMMANDS.restart]: async (uri?: unknown) => {
      const servers = await targets(uri, 'Porthole: Restart');
      return Promise.all(servers.map((s) => manager.restart(s.folder)));
    },
    [COMMANDS.openInBrowser]: async () => {
      const url = await runningUrl('Porthole: Open in Browser');
      if (url) await openExternal(url);
      return url;
    },
    [COMMANDS.openFileInBrowser]: async (uri?: unknown) => {
      const file = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
      if (!file || file.scheme !== 'file') {
        void vscode.window.showInformationMessage('Porthole: open an HTML file of the workspace first.');
        return undefined;
      }
      const url = await manager.urlForFile(file);
      if (url) await openExternal(url);
      return url;
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
    [COMMANDS.shareOnNetwork]: (uri?: unknown) => sharing.share(folderOf(uri)),
    [COMMANDS.stopSharing]: (uri?: unknown) => sharing.stopSharing(folderOf(uri)),
    [COMMANDS.statusBarMenu]: async () => {
      const items: Array<vscode.QuickPickItem & { command: string }> = [
        { label: '$(globe) Open in Browser', command: COMMANDS.openInBrowser },
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
      })),
    [COMMANDS.measureEventLoop]: (durationMs?: unknown) =>
      measureEventLoopDelay(typeof durationMs === 'number' ? durationMs : 10_000),
  };

  return Object.entries(handlers).map(([id, handler]) => vscode.commands.registerCommand(id, handler));
}
