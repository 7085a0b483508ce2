// A stand-in for the `vscode` and `vscode-languageclient/node` modules, the
// two boundaries of src/extension.ts. It records what the extension asks of
// VS Code so tests can assert it, and lets tests answer server requests.
'use strict';
const Module = require('node:module');
const path = require('node:path');

function makeStubs({ settings = {}, diagnostics = [], editor, quickPick, answer, errorChoice } = {}) {
  const rec = { errors: [], warnings: [], infos: [], executed: [], opened: [], clipboard: [], requests: [], notifications: [], clients: [], providers: {}, quickPicks: [] };
  const commands = new Map();
  class Uri {
    constructor(scheme, p) { this.scheme = scheme; this.path = p; this.fsPath = p; }
    toString() { return `${this.scheme}://${this.path}`; }
    static from({ scheme, path: p }) { return new Uri(scheme, p); }
    static parse(s) { const i = s.indexOf(':'); return new Uri(s.slice(0, i), s.slice(i + 1).replace(/^\/\//, '')); }
  }
  class EventEmitter {
    constructor() { this.listeners = []; this.event = (l) => { this.listeners.push(l); return { dispose() {} }; }; }
    fire(v) { for (const l of this.listeners) l(v); }
    dispose() {}
  }
  const item = { text: '', tooltip: '', command: undefined, backgroundColor: undefined, shown: false, show() { this.shown = true; }, dispose() {} };
  const output = { lines: [], shown: false, appendLine(l) { this.lines.push(l); }, show() { this.shown = true; }, dispose() {} };
  const vscode = {
    Uri,
    EventEmitter,
    ThemeColor: class { constructor(id) { this.id = id; } },
    StatusBarAlignment: { Left: 1, Right: 2 },
    window: {
      activeTextEditor: editor,
      createOutputChannel: () => output,
      createStatusBarItem: () => item,
      showErrorMessage: async (m, ...items) => { rec.errors.push({ m, items }); return errorChoice; },
      showWarningMessage: async (m) => { rec.warnings.push(m); return undefined; },
      showInformationMessage: async (m) => { rec.infos.push(m); return undefined; },
      showQuickPick: async (items) => { rec.quickPicks.push(items); return quickPick ? quickPick(items) : undefined; },
    },
    workspace: {
      workspaceFolders: [{ uri: new Uri('file', '/ws') }],
      getConfiguration: () => ({
        inspect: (k) => (k in settings ? { key: k, globalValue: settings[k] } : { key: k }),
        get: (k) => settings[k],
      }),
      registerTextDocumentContentProvider: (scheme, p) => { rec.providers[scheme] = p; return { dispose() {} }; },
      onDidChangeConfiguration: (l) => { rec.configListener = l; return { dispose() {} }; },
      asRelativePath: (u) => String(u.path).replace(/^\/ws\//, ''),
    },
    languages: { getDiagnostics: () => diagnostics },
    commands: {
      registerCommand: (id, fn) => {
        if (commands.has(id)) throw new Error(`command '${id}' already exists`);
        commands.set(id, fn);
        return { dispose() {} };
      },
      executeCommand: async (id, ...args) => { rec.executed.push({ id, args }); },
    },
    env: {
      clipboard: { writeText: async (t) => { rec.clipboard.push(t); } },
      openExternal: async (u) => { rec.opened.push(u.toString()); return true; },
    },
  };
  const State = { Stopped: 1, Starting: 3, Running: 2 };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, handlers: {}, stateListeners: [] });
      rec.clients.push(this);
    }
    onDidChangeState(l) { this.stateListeners.push(l); return { dispose() {} }; }
    onNotification(method, h) { this.handlers[method] = h; return { dispose() {} }; }
    async start() { for (const l of this.stateListeners) l({ oldState: State.Starting, newState: State.Running }); }
    async stop() { for (const l of this.stateListeners) l({ oldState: State.Running, newState: State.Stopped }); }
    async sendRequest(method, params) {
      rec.requests.push({ method, params });
      return answer ? answer(method, params, this) : null;
    }
    async sendNotification(method, params) { rec.notifications.push({ method, params }); }
  }
  return { vscode, languageclient: { LanguageClient, State }, rec, commands, item, output };
}

/** loadExtension loads a fresh out/extension.js wired to new stubs. */
function loadExtension(opts) {
  const stubs = makeStubs(opts);
  const file = path.join(__dirname, '..', 'out', 'extension.js');
  delete require.cache[require.resolve(file)];
  const orig = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'vscode') return stubs.vscode;
    if (request === 'vscode-languageclient/node') return stubs.languageclient;
    return orig.call(this, request, ...rest);
  };
  try {
    stubs.ext = require(file);
  } finally {
    Module._load = orig;
  }
  return stubs;
}

module.exports = { loadExtension };
