/**
 * The status bar item: renders computeStatusView() whenever a server's state changes, and at most
 * twice a second for request counts.
 */
import * as vscode from 'vscode';
import { COMMANDS } from '../commands/node-command-ids';
import { Disposable } from '../common/node-disposable';
import { computeStatusView } from './node-status-view';
import type { ServerManager } from '../server/vscode-server-manager';

const COUNT_REFRESH_MS = 500;

export class StatusBar extends Disposable {
  private readonly item: vscode.StatusBarItem;
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(private readonly manager: ServerManager) {
    super();
    this.item = this.register(vscode.window.createStatusBarItem('porthole.status', vscode.StatusBarAlignment.Right, 100));
    this.item.name = 'Porthole';
    this.register(manager.onDidChange(() => this.render()));
    this.register(manager.onRequests(() => this.scheduleRefresh()));
    this.register({ dispose: () => clearTimeout(this.refreshTimer) });
    this.render();
    this.item.show();
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer || this.isDisposed) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.render();
    }, COUNT_REFRESH_MS);
  }

  render(): void {
    if (this.isDisposed) return;
    const view = computeStatusView(
      this.manager.all().map((managed) => ({
        folderName: managed.folder.name,
        folderPath: managed.folder.uri.fsPath,
        state: managed.controller.state,
        requestCount: managed.controller.requestCount,
        networkUrls: this.manager.sharedUrlsOf(managed)?.map((u) => u.url),
      })),
    );
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString();
    tooltip.supportThemeIcons = false;
    for (const line of view.tooltip) tooltip.appendText(line).appendMarkdown('  \n');
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = { label: view.accessibilityLabel, role: 'button' };
    this.item.backgroundColor = view.kind === 'failed' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.command =
      view.command === 'start' ? COMMANDS.start : view.command === 'menu' ? COMMANDS.statusBarMenu : undefined;
  }
}
