/**
 * Sharing on the network, the VS Code part: the Share on Network / Stop Sharing commands (they
 * write `porthole.host` in the workspace folder's settings, sharing only after a modal that says
 * what becomes visible to whom), HTTPS before each start (node-sharing.ts prepareTlsWithPassphrase;
 * the self-signed certificate lives in the extension's global storage, an encrypted key's
 * passphrase is asked once and kept in SecretStorage), and, whenever a server starts
 * or changes: the network URLs, the firewall hint and the certificate fingerprint in the Output,
 * a one-time notice when a folder is shared by its settings, warnings (dotfiles while shared),
 * the authority `asExternalUri` returns added to the server's Host allow-list, and the sharing
 * panel (URLs, QR code) of the Requests view.
 */
import * as vscode from 'vscode';
import { realpathSync } from 'node:fs';
import { derivePort, isLoopbackBind } from '../../core';
import { messageText } from '../output/node-format';
import { COMMANDS, REQUESTS_VIEW_ID } from '../commands/node-command-ids';
import { CONFIG_SECTION, SETTING_KEYS, resolveRoot } from '../config/node-config';
import { Disposable } from '../common/node-disposable';
import type { AskPassphrase, CertificateInfo } from './node-sharing';
import {
  LOCAL_HOST,
  SHARE_HOST,
  describeCertificate,
  firewallHint,
  prepareTlsWithPassphrase,
  shareConfirmation,
  sharingModeOf,
  sharingServer,
  sharingWarnings,
} from './node-sharing';
import { folderContext, readFolderConfig } from '../config/vscode-config';
import type { PortholeOutput } from '../output/vscode-output';
import type { RequestsViewProvider } from '../requests/vscode-requests-view';
import type { ManagedServer, ServerManager } from '../server/vscode-server-manager';

const SHARE = 'Share on Network';
const STOP_SHARING = 'Stop Sharing';
const SHOW_QR = 'Show QR Code';
/** workspaceState: folders whose user has been told they are shared (asked once). */
const ACK_KEY = 'porthole.sharingAcknowledged';

/** The passphrase of an encrypted `porthole.https.key`, asked in a password input box. */
const askPassphrase: AskPassphrase = ({ keyPath, retry }) =>
  vscode.window.showInputBox({
    title: 'Porthole: passphrase of the HTTPS key',
    prompt: `${retry ? 'That passphrase does not decrypt it. ' : ''}${keyPath} is an encrypted private key: enter its passphrase (kept in VS Code's secret storage).`,
    password: true,
    ignoreFocusOut: true,
    // An empty answer was tried as the passphrase and said "does not decrypt it": said as it is.
    validateInput: (value) => (value.length === 0 ? 'The passphrase is empty: type it, or press Escape to cancel' : undefined),
  });

/** The port a folder's server derives (the same function the core uses when it starts). */
function folderPort(root: string): number {
  try {
    return derivePort(realpathSync.native(root));
  } catch {
    return derivePort(root);
  }
}

export class Sharing extends Disposable {
  private readonly certificates = new Map<string, CertificateInfo>();
  /** Per folder: the `since` of the run already announced, and the warnings already said. */
  private readonly announced = new Map<string, number>();
  private readonly warned = new Map<string, string>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly manager: ServerManager,
    private readonly output: PortholeOutput,
    private readonly requests: RequestsViewProvider,
  ) {
    super();
    manager.prepareOptions = async (folder, config, options) => {
      const key = folder.uri.toString();
      const { options: prepared, certificate } = await prepareTlsWithPassphrase(
        config,
        folderContext(folder, context.logUri),
        context.globalStorageUri.fsPath,
        options,
        context.secrets,
        askPassphrase,
      );
      if (certificate) {
        this.certificates.set(key, certificate);
        this.output.log('info', `[${folder.name}] ${describeCertificate(certificate)}`);
      } else {
        this.certificates.delete(key);
      }
      return prepared;
    };
    this.register({ dispose: () => (manager.prepareOptions = undefined) });
    this.register(manager.onDidChange(() => this.onServersChanged()));
    this.register(
      requests.onSharingAction(({ action, id }) => {
        const folder = manager.all().find((s) => s.folder.uri.toString() === id)?.folder;
        if (folder) void (action === 'share' ? this.share(folder) : this.stopSharing(folder));
      }),
    );
  }

  /** Share on Network: confirm in plain words, then bind every interface (restarting or starting). */
  async share(folder?: vscode.WorkspaceFolder): Promise<void> {
    folder ??= (await this.manager.pickRunning('Porthole: Share on Network'))?.folder ?? (await this.manager.pickFolderToStart());
    if (!folder) return;
    const { config } = readFolderConfig(folder);
    const state = this.manager.get(folder)?.controller.state;
    if (sharingModeOf(config.host) === 'shared') {
      if (state?.kind !== 'running') await this.manager.start(folder, { openBrowser: false });
      void vscode.window.showInformationMessage(`Porthole: "${messageText(folder.name)}" is already shared on the network (porthole.host is ${config.host}).`);
      return;
    }
    const port = state?.kind === 'running' ? state.address.port : (config.port ?? folderPort(resolveRoot(config, folderContext(folder, this.context.logUri))));
    const { message, detail } = shareConfirmation(folder.name, port, config.allowedClients);
    const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, SHARE);
    if (choice !== SHARE) return;
    await this.acknowledge(folder);
    // A running server restarts on this change (ServerManager); a stopped one is started here.
    await vscode.workspace.getConfiguration(CONFIG_SECTION, folder.uri).update(SETTING_KEYS.host, SHARE_HOST, vscode.ConfigurationTarget.WorkspaceFolder);
    if (this.manager.get(folder)?.controller.state.kind !== 'running') await this.manager.start(folder, { openBrowser: false });
    await vscode.commands.executeCommand(`${REQUESTS_VIEW_ID}.focus`);
  }

  /** Stop Sharing: back to 127.0.0.1 (the folder's own value removed when that is enough). */
  async stopSharing(folder?: vscode.WorkspaceFolder): Promise<void> {
    if (!folder) {
      const shared = this.manager.all().filter((s) => sharingModeOf(readFolderConfig(s.folder).config.host) === 'shared');
      folder = shared.length <= 1 ? shared[0]?.folder : (await this.manager.pickRunning('Porthole: Stop Sharing'))?.folder;
    }
    if (!folder) {
      void vscode.window.showInformationMessage('Porthole: nothing is shared on the network.');
      return;
    }
    const section = vscode.workspace.getConfiguration(CONFIG_SECTION, folder.uri);
    const seen = section.inspect<string>(SETTING_KEYS.host);
    // What applies once the folder's own value is gone (in a single-folder window, the folder's
    // settings are the workspace settings).
    const below = vscode.workspace.workspaceFile ? (seen?.workspaceValue ?? seen?.globalValue) : seen?.globalValue;
    const fallback = below ?? seen?.defaultValue ?? LOCAL_HOST;
    await section.update(SETTING_KEYS.host, isLoopbackBind(fallback) ? undefined : LOCAL_HOST, vscode.ConfigurationTarget.WorkspaceFolder);
    this.output.log('info', `[${folder.name}] Stopped sharing: back to this machine only.`);
  }

  private acknowledge(folder: vscode.WorkspaceFolder): Thenable<void> {
    const acked = this.context.workspaceState.get<string[]>(ACK_KEY, []);
    return acked.includes(folder.uri.toString())
      ? Promise.resolve()
      : this.context.workspaceState.update(ACK_KEY, [...acked, folder.uri.toString()]);
  }

  private onServersChanged(): void {
    for (const managed of this.manager.all()) {
      const key = managed.folder.uri.toString();
      const state = managed.controller.state;
      if (state.kind !== 'running') {
        if (state.kind === 'stopped') {
          this.announced.delete(key);
          this.warned.delete(key);
        }
        continue;
      }
      if (this.announced.get(key) !== state.since) {
        this.announced.set(key, state.since);
        void this.onStarted(managed);
      }
      const warnings = sharingWarnings(state.config, folderContext(managed.folder, this.context.logUri));
      const said = warnings.join('\n');
      if (said !== (this.warned.get(key) ?? '')) {
        this.warned.set(key, said);
        for (const w of warnings) {
          this.output.log('warn', `[${managed.folder.name}] ${w}`);
          void vscode.window.showWarningMessage(`Porthole: ${messageText(w, 4000)}`);
        }
      }
    }
    this.publish();
  }

  /** Once per run: the URLs and the firewall hint in the Output, the notice, asExternalUri. */
  private async onStarted(managed: ManagedServer): Promise<void> {
    const { folder, controller } = managed;
    const state = controller.state;
    if (state.kind !== 'running') return;
    const { address, config } = state;
    if (sharingModeOf(config.host) === 'shared') {
      const urls = (this.manager.sharedUrlsOf(managed) ?? []).map((u) => u.url);
      this.output.log('info', `[${folder.name}] Shared on the network: ${urls.length > 0 ? urls.join('  ') : 'no network address found'}`);
      if (config.allowedClients.length > 0) this.output.log('info', `[${folder.name}] Only ${config.allowedClients.join(', ')} (and this machine) may connect.`);
      this.output.log('info', `[${folder.name}] ${firewallHint(address.port)}`);
      void this.noticeOnce(folder, urls);
    }
    try {
      const local = vscode.Uri.parse(address.url);
      const external = await vscode.env.asExternalUri(local);
      // A tunnel or a remote's forwarded name (loopback forwards are allowed already).
      const externalHost = external.authority.replace(/:\d+$/, '').toLowerCase();
      if (externalHost !== '' && !isLoopbackBind(externalHost.replace(/^\[|\]$/g, '')) && controller.state === state) {
        controller.allowHost(external.authority);
        this.output.log('info', `[${folder.name}] Also answering to ${external.authority} (the address VS Code forwards this port to).`);
      }
    } catch (err) {
      this.output.log('debug', `[${folder.name}] asExternalUri: ${(err as Error).message}`);
    }
  }

  /** Sharing by settings (not by the command): say once, non-modally, what is visible to whom. */
  private async noticeOnce(folder: vscode.WorkspaceFolder, urls: readonly string[]): Promise<void> {
    if (this.context.workspaceState.get<string[]>(ACK_KEY, []).includes(folder.uri.toString())) return;
    await this.acknowledge(folder);
    const choice = await vscode.window.showInformationMessage(
      `Porthole is sharing "${messageText(folder.name)}" on your network${urls[0] ? ` at ${urls[0]}` : ''}: every device on it can read its files. ` +
        '.env and .git stay hidden; porthole.allowedClients restricts who may connect.',
      SHOW_QR,
      STOP_SHARING,
    );
    if (choice === STOP_SHARING) await this.stopSharing(folder);
    else if (choice === SHOW_QR) await vscode.commands.executeCommand(COMMANDS.showRequests);
  }

  /** The Requests view's sharing panel: every running server, in folder order. */
  private publish(): void {
    const servers = this.manager.active().flatMap((managed) => {
      const { folder, controller } = managed;
      const s = controller.state;
      if (s.kind !== 'running') return [];
      const urls = this.manager.sharedUrlsOf(managed) ?? [];
      return [sharingServer(folder.uri.toString(), folder.name, s.config, s.address, this.certificates.get(folder.uri.toString()), urls)];
    });
    this.requests.setSharing(servers);
  }
}
