// The VS Code boundary of the Faultline extension: it starts `faultline serve`
// through vscode-languageclient and wires commands, the status bar and the
// read-only incident view. Every decision that can be made without VS Code
// lives in ./core and is unit-tested there; this file only translates.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, State } from 'vscode-languageclient/node';
import { INSTALL_LINE, resolveBinary } from './core/binary';
import {
  INCIDENT_SCHEME,
  RecentUrls,
  ServerCommand,
  commandArgs,
  incidentDocPath,
  incidentIdFromPath,
  incidentsAt,
  isIncidentRows,
  outcome,
  pickItems,
} from './core/incidents';
import { Settings, configurationResponse, isOurSection, needsRestart, readSettings, serverArgs, toServerConfig } from './core/settings';
import { ServerState, Status, isStatus, statusView } from './core/status';

/** Palette command ids. They differ from the server's command names, which
 * vscode-languageclient registers itself for code lenses and code actions. */
export const UiCommand = {
  showIncident: 'faultline.ui.showIncident',
  applyFix: 'faultline.ui.applyFix',
  openPR: 'faultline.ui.openPR',
  refresh: 'faultline.ui.refresh',
  showOutput: 'faultline.ui.showOutput',
  restart: 'faultline.ui.restart',
} as const;

interface Target {
  id: string;
  uri?: string;
  version?: number;
}

let current: Faultline | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  current = new Faultline(context);
  await current.start();
}

export async function deactivate(): Promise<void> {
  await current?.stop();
  current = undefined;
}

function getSettings(): Settings {
  const cfg = vscode.workspace.getConfiguration('faultline');
  // Only values the user set count: defaults must not override .faultline.yaml.
  return readSettings((key) => {
    const v = cfg.inspect(key);
    return v?.workspaceFolderValue ?? v?.workspaceValue ?? v?.globalValue;
  });
}

class Faultline {
  private client: LanguageClient | undefined;
  private state: ServerState = 'starting';
  private status: Status | undefined;
  private settings: Settings = getSettings();
  private readonly output = vscode.window.createOutputChannel('Faultline', { log: true });
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  private readonly markdown = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly urls = new RecentUrls();

  constructor(private readonly ctx: vscode.ExtensionContext) {
    const reg = (id: string, fn: () => unknown): void => {
      ctx.subscriptions.push(vscode.commands.registerCommand(id, () => this.guard(fn)));
    };
    reg(UiCommand.showIncident, () => this.withTarget(false, (t) => this.run(ServerCommand.showIncident, { id: t.id })));
    reg(UiCommand.applyFix, () => this.withTarget(true, (t) => this.run(ServerCommand.applyFix, { id: t.id, uri: t.uri, version: t.version })));
    reg(UiCommand.openPR, () => this.withTarget(false, (t) => this.run(ServerCommand.openPR, { id: t.id })));
    reg(UiCommand.refresh, () => this.run(ServerCommand.refresh, {}));
    reg(UiCommand.showOutput, () => this.output.show(true));
    reg(UiCommand.restart, () => this.restart());
    ctx.subscriptions.push(
      this.output,
      this.item,
      this.changed,
      vscode.workspace.registerTextDocumentContentProvider(INCIDENT_SCHEME, {
        onDidChange: this.changed.event,
        provideTextDocumentContent: (uri) => this.incidentMarkdown(uri),
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('faultline')) void this.guard(() => this.settingsChanged());
      }),
    );
    this.render();
    this.item.show();
  }

  async start(): Promise<void> {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const bin = resolveBinary(this.settings.path, hostOf(), root);
    if (!bin.ok) {
      this.setState('missing');
      this.output.appendLine(bin.message);
      void vscode.window.showErrorMessage(bin.message, 'Copy install command', 'Open Settings').then((choice) => {
        if (choice === 'Copy install command') void vscode.env.clipboard.writeText(INSTALL_LINE);
        if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'faultline.path');
      });
      return;
    }
    const run = { command: bin.path, args: serverArgs(this.settings), options: { cwd: root } };
    const serverOptions: ServerOptions = { run, debug: run };
    this.output.appendLine(`Starting ${bin.path} ${run.args.join(' ')}`);
    const client = new LanguageClient('faultline', 'Faultline', serverOptions, this.clientOptions());
    this.client = client;
    client.onDidChangeState((e) => {
      this.setState(e.newState === State.Running ? 'running' : e.newState === State.Starting ? 'starting' : 'stopped');
    });
    client.onNotification('faultline/status', (p: unknown) => {
      if (!isStatus(p)) return;
      this.status = p;
      this.render();
    });
    try {
      await client.start();
    } catch (e) {
      this.setState('stopped');
      const msg = `Faultline: the server failed to start: ${e instanceof Error ? e.message : String(e)}`;
      this.output.appendLine(msg);
      void vscode.window.showErrorMessage(msg, 'Show Output').then((c) => {
        if (c) this.output.show(true);
      });
    }
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.stop();
  }

  private clientOptions(): LanguageClientOptions {
    return {
      documentSelector: [{ scheme: 'file' }],
      outputChannel: this.output,
      initializationOptions: toServerConfig(this.settings),
      middleware: {
        // Code lenses and code actions run server commands through here:
        // show what they return (the incident view, a PR link) to the user.
        executeCommand: async (command, args, next) => {
          const result = await next(command, args);
          await this.present(command, result);
          return result;
        },
        window: {
          showDocument: (params, token, next) => {
            if (params.external) this.urls.mark(params.uri, Date.now());
            return next(params, token);
          },
        },
        workspace: {
          configuration: async (params, token, next) => {
            const defaults = await next(params, token);
            if (!Array.isArray(defaults)) return defaults;
            return params.items.map((it, i) => (isOurSection(it.section) ? configurationResponse(it.section, this.settings) : defaults[i]));
          },
        },
      },
    };
  }

  private async settingsChanged(): Promise<void> {
    const next = getSettings();
    const restart = needsRestart(this.settings, next);
    this.settings = next;
    if (restart || !this.client) return this.restart();
    // Push model for servers that read it, pull model for the rest.
    await this.client.sendNotification('workspace/didChangeConfiguration', { settings: { faultline: toServerConfig(next) } });
  }

  private async restart(): Promise<void> {
    await this.stop();
    this.status = undefined;
    this.settings = getSettings();
    await this.start();
  }

  /** run sends a contract command to the server and presents its result. */
  private async run(command: string, fields: Record<string, unknown>): Promise<void> {
    const client = this.client;
    if (!client || this.state !== 'running') {
      void vscode.window.showWarningMessage('Faultline: the server is not running.', 'Show Output').then((c) => {
        if (c) this.output.show(true);
      });
      return;
    }
    const result = await client.sendRequest('workspace/executeCommand', { command, arguments: commandArgs(command, fields) });
    await this.present(command, result);
  }

  private async present(command: string, result: unknown): Promise<void> {
    const o = outcome(command, result);
    switch (o.kind) {
      case 'showMarkdown': {
        const uri = vscode.Uri.from({ scheme: INCIDENT_SCHEME, path: incidentDocPath(o.id) });
        this.markdown.set(o.id, o.markdown);
        this.changed.fire(uri);
        await vscode.commands.executeCommand('markdown.showPreview', uri);
        return;
      }
      case 'openUrl':
        if (!this.urls.wasOpened(o.url, Date.now())) await vscode.env.openExternal(vscode.Uri.parse(o.url));
        void vscode.window.showInformationMessage(`Faultline: pull request ${o.url}`);
        return;
      case 'info':
        void vscode.window.showInformationMessage(o.message);
        return;
      case 'warn':
        void vscode.window.showWarningMessage(o.message);
        return;
    }
  }

  /** incidentMarkdown feeds the read-only view; it asks the server when the view is reopened. */
  private async incidentMarkdown(uri: vscode.Uri): Promise<string> {
    const id = incidentIdFromPath(uri.path);
    if (id === undefined) return '# Unknown incident\n';
    const cached = this.markdown.get(id);
    if (cached !== undefined) return cached;
    if (!this.client) return `# Incident ${id}\n\nThe Faultline server is not running.\n`;
    const r = outcome(ServerCommand.showIncident, await this.client.sendRequest('workspace/executeCommand', {
      command: ServerCommand.showIncident,
      arguments: commandArgs(ServerCommand.showIncident, { id }),
    }));
    return r.kind === 'showMarkdown' ? r.markdown : `# Incident ${id}\n\nNo details available.\n`;
  }

  /** withTarget picks the incident at the cursor, else lets the user choose one. */
  private async withTarget(needFile: boolean, fn: (t: Target) => Promise<void>): Promise<void> {
    const t = (await this.targetAtCursor()) ?? (await this.pickTarget());
    if (!t) return;
    if (needFile && !t.uri) {
      void vscode.window.showWarningMessage('Faultline: open the file of the incident to apply a fix.');
      return;
    }
    await fn(t);
  }

  private async targetAtCursor(): Promise<Target | undefined> {
    const ed = vscode.window.activeTextEditor;
    if (!ed) return undefined;
    const pos = ed.selection.active;
    const ids = incidentsAt(vscode.languages.getDiagnostics(ed.document.uri), pos.line, pos.character);
    if (ids.length === 0) return undefined;
    const id = ids.length === 1 ? ids[0] : await vscode.window.showQuickPick(ids, { placeHolder: 'Several incidents on this line' });
    return id ? { id, uri: ed.document.uri.toString(), version: ed.document.version } : undefined;
  }

  private async pickTarget(): Promise<Target | undefined> {
    if (!this.client || this.state !== 'running') return undefined;
    const rows = await this.client.sendRequest('workspace/executeCommand', {
      command: ServerCommand.listIncidents,
      arguments: commandArgs(ServerCommand.listIncidents),
    });
    if (!isIncidentRows(rows) || rows.length === 0) {
      void vscode.window.showInformationMessage('Faultline: no incidents in this workspace.');
      return undefined;
    }
    const items = pickItems(rows, (u) => vscode.workspace.asRelativePath(vscode.Uri.parse(u)));
    const picked = await vscode.window.showQuickPick(items, { placeHolder: 'Production incident', matchOnDetail: true });
    if (!picked) return undefined;
    const row = rows.find((r) => r.id === picked.id);
    return { id: picked.id, uri: row?.uri };
  }

  private setState(s: ServerState): void {
    this.state = s;
    this.render();
  }

  private render(): void {
    const v = statusView(this.state, this.status);
    this.item.text = v.text;
    this.item.tooltip = v.tooltip;
    this.item.command = this.state === 'running' ? UiCommand.refresh : UiCommand.showOutput;
    this.item.backgroundColor =
      v.level === 'ok' ? undefined : new vscode.ThemeColor(v.level === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground');
  }

  /** guard reports a failing command once, in the UI and the output, instead of throwing into VS Code. */
  private async guard(fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.output.appendLine(`error: ${msg}`);
      void vscode.window.showErrorMessage(`Faultline: ${msg}`);
    }
  }
}

function hostOf() {
  return {
    platform: process.platform,
    env: process.env,
    homedir: os.homedir(),
    isExecutable(file: string): boolean {
      try {
        const st = fs.statSync(file);
        if (!st.isFile()) return false;
        if (process.platform === 'win32') return true;
        fs.accessSync(file, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}
