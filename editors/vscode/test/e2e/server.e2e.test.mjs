// End-to-end test of `faultline serve` through the LSP protocol layer that
// vscode-languageclient is built on (vscode-languageserver-protocol over the
// child's stdio). VS Code itself cannot run here; this is the same wire
// traffic the extension produces.
//
// Inputs (editors/run-e2e.sh prepares them with `faultline demo`):
//   FAULTLINE_BIN            the built binary (test skipped when unset)
//   FAULTLINE_E2E_WORKSPACE  workspace root (a git repository)
//   FAULTLINE_E2E_LOGS       log file for --logs
//   FAULTLINE_E2E_DEPLOYS    deploy events for --deploys (optional)
//   FAULTLINE_E2E_EXPECT     {"file": "repo-relative", "line": 1-based, "messageContains": "..."}
// For the fix and pull-request tests (skipped when FAULTLINE_E2E_BARE is unset):
//   FAULTLINE_E2E_BARE           bare repository the workspace's origin points at
//   FAULTLINE_E2E_GITHUB_URL     the fake GitHub's REST base URL (.faultline.yaml github.base_url)
//   FAULTLINE_E2E_GITHUB_RECORD  JSON file where the fake GitHub records its requests
//   GITHUB_TOKEN                 the token the fake GitHub expects
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createProtocolConnection, StreamMessageReader, StreamMessageWriter } = require('vscode-languageserver-protocol/node');

const BIN = process.env.FAULTLINE_BIN;
const WAIT_MS = Number(process.env.FAULTLINE_E2E_WAIT_MS || 30000);

function config() {
  const need = (k) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set (editors/run-e2e.sh sets it)`);
    return v;
  };
  const expect = JSON.parse(need('FAULTLINE_E2E_EXPECT'));
  for (const k of ['file', 'line', 'messageContains']) if (expect[k] === undefined) throw new Error(`FAULTLINE_E2E_EXPECT lacks ${k}`);
  return {
    root: path.resolve(need('FAULTLINE_E2E_WORKSPACE')),
    logs: path.resolve(need('FAULTLINE_E2E_LOGS')),
    deploys: process.env.FAULTLINE_E2E_DEPLOYS ? path.resolve(process.env.FAULTLINE_E2E_DEPLOYS) : undefined,
    expect,
  };
}

/** samePath compares file URIs by path, so percent-encoding differences do not matter. */
function samePath(uri, file) {
  try {
    return path.resolve(fileURLToPath(uri)) === path.resolve(file);
  } catch {
    return false;
  }
}

/** Client is a minimal LSP client: it records what the server pushes and answers its requests. */
class Client {
  constructor(cfg) {
    this.cfg = cfg;
    this.diagnostics = new Map(); // uri -> {version, diagnostics}
    this.statuses = [];
    this.appliedEdits = [];
    this.shownDocuments = [];
    this.stderr = '';
    this.waiters = new Set();
    const args = ['serve', '--logs', cfg.logs];
    if (cfg.deploys) args.push('--deploys', cfg.deploys);
    this.child = spawn(BIN, args, { cwd: cfg.root, stdio: ['pipe', 'pipe', 'pipe'] });
    this.dead = undefined;
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.dead = { code, signal };
        this.poke();
        resolve(this.dead);
      }),
    );
    this.child.stdin.on('error', () => {}); // EPIPE when the server died: reported through died()
    this.child.on('error', (e) => {
      this.dead = { error: e.message };
      this.poke();
    });
    this.child.stderr.on('data', (b) => {
      this.stderr += b.toString();
      if (this.stderr.length > 200000) this.stderr = this.stderr.slice(-100000);
    });
    const conn = createProtocolConnection(new StreamMessageReader(this.child.stdout), new StreamMessageWriter(this.child.stdin));
    this.conn = conn;
    conn.onNotification('textDocument/publishDiagnostics', (p) => {
      this.diagnostics.set(p.uri, p);
      this.poke();
    });
    conn.onNotification('faultline/status', (p) => {
      this.statuses.push(p);
      this.poke();
    });
    conn.onNotification('window/logMessage', () => {});
    conn.onNotification('window/showMessage', () => {});
    conn.onNotification('$/progress', () => {});
    conn.onRequest('workspace/configuration', (p) => p.items.map(() => null));
    conn.onRequest('window/workDoneProgress/create', () => null);
    conn.onRequest('client/registerCapability', () => null);
    conn.onRequest('client/unregisterCapability', () => null);
    conn.onRequest('workspace/applyEdit', (p) => {
      this.appliedEdits.push(p);
      return { applied: true };
    });
    conn.onRequest('window/showDocument', (p) => {
      this.shownDocuments.push(p);
      return { success: true };
    });
    conn.listen();
  }

  poke() {
    for (const w of this.waiters) w();
  }

  /** waitFor resolves with pred()'s first truthy value; it fails with the server's stderr tail. */
  waitFor(what, pred, ms = WAIT_MS) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try {
          v = pred();
        } catch (e) {
          done();
          reject(e);
          return;
        }
        if (v) {
          done();
          resolve(v);
        } else if (this.dead && !this.shuttingDown) {
          done();
          reject(this.died(what));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}\n--- server stderr (tail) ---\n${this.stderr.slice(-4000)}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  died(what) {
    return new Error(`the server exited (${JSON.stringify(this.dead)}) while waiting for ${what}\n--- server stderr (tail) ---\n${this.stderr.slice(-4000)}`);
  }

  diagnosticsFor(file) {
    for (const [uri, p] of this.diagnostics) if (samePath(uri, file)) return p.diagnostics;
    return undefined;
  }

  /** request fails fast, with the server's stderr, when the server dies before answering. */
  request(method, params) {
    if (this.dead) return Promise.reject(this.died(method));
    const sent = this.conn.sendRequest(method, params).catch(async (e) => {
      // A write error usually means the server died: say so, with its stderr.
      let timer;
      await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      throw this.dead && !this.shuttingDown ? this.died(method) : e;
    });
    return Promise.race([
      sent,
      this.exited.then(() => {
        if (this.shuttingDown) return null;
        throw this.died(method);
      }),
    ]);
  }

  command(command, arg = {}) {
    return this.request('workspace/executeCommand', { command, arguments: [arg] });
  }
}

const skip = BIN ? false : 'FAULTLINE_BIN is not set: run editors/run-e2e.sh (it builds the server and prepares the demo workspace)';

describe('faultline serve over LSP', { skip, timeout: 5 * WAIT_MS }, () => {
  let cfg;
  let client;
  let file; // absolute path of the expected file
  let fileUri;
  let text; // its content at HEAD
  let want; // the expected diagnostic, found in the first publish

  before(async () => {
    cfg = config();
    file = path.join(cfg.root, cfg.expect.file);
    fileUri = pathToFileURL(file).href;
    text = fs.readFileSync(file, 'utf8');
    client = new Client(cfg);
    const rootUri = pathToFileURL(cfg.root).href;
    const init = await client.request('initialize', {
      processId: process.pid,
      clientInfo: { name: 'faultline-e2e', version: '1' },
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: path.basename(cfg.root) }],
      capabilities: {
        workspace: { configuration: true, applyEdit: true, workspaceFolders: true, workspaceEdit: { documentChanges: true } },
        textDocument: {
          synchronization: { dynamicRegistration: false },
          publishDiagnostics: { relatedInformation: true, versionSupport: true, codeDescriptionSupport: true, dataSupport: true },
          hover: { contentFormat: ['markdown', 'plaintext'] },
          codeAction: { dataSupport: true, resolveSupport: { properties: ['edit'] }, codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix'] } } },
          codeLens: {},
        },
        window: { workDoneProgress: true, showDocument: { support: true } },
        general: { positionEncodings: ['utf-16'] },
      },
      initializationOptions: {},
    });
    client.init = init;
    client.conn.sendNotification('initialized', {});
  });

  after(async () => {
    if (!client) return;
    client.shuttingDown = true;
    try {
      let timer;
      await Promise.race([client.request('shutdown'), new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      await client.conn.sendNotification('exit');
      client.conn.end(); // as vscode-languageclient does: close the server's stdin after exit
    } catch {
      /* the exit check below reports */
    }
    const killer = setTimeout(() => client.child.kill('SIGKILL'), 5000);
    const ex = await client.exited;
    clearTimeout(killer);
    client.conn.dispose();
    assert.equal(ex.code, 0, `server exit after shutdown, exit and end of stdin: ${JSON.stringify(ex)}\n${client.stderr.slice(-2000)}`);
  });

  it('advertises the contract capabilities', () => {
    const caps = client.init.capabilities;
    assert.ok(caps.hoverProvider, 'hoverProvider');
    assert.ok(caps.textDocumentSync !== undefined, 'textDocumentSync');
    const cmds = caps.executeCommandProvider?.commands ?? [];
    for (const c of ['faultline.showIncident', 'faultline.listIncidents', 'faultline.refresh']) assert.ok(cmds.includes(c), `executeCommandProvider lacks ${c}: ${cmds}`);
  });

  it('publishes the incident on the expected line of a file that is not open', async () => {
    const diags = await client.waitFor(`diagnostics for ${cfg.expect.file}`, () => {
      const d = client.diagnosticsFor(file);
      return d && d.length > 0 ? d : undefined;
    });
    const line = cfg.expect.line - 1;
    want = diags.find((d) => d.range.start.line === line && d.message.includes(cfg.expect.messageContains));
    assert.ok(want, `no diagnostic on line ${cfg.expect.line} containing ${JSON.stringify(cfg.expect.messageContains)}; got ${JSON.stringify(diags, null, 1)}`);
    assert.equal(want.source, 'faultline');
    assert.ok(want.severity === 1 || want.severity === 2, `severity Error or Warning, got ${want.severity}`);
    assert.ok(want.code !== undefined && want.code !== '', 'code = incident id');
    assert.equal(want.data?.id, String(want.code), 'data.id equals the code');
    // Range: the statement's line, first non-blank character to end of line (UTF-16).
    const lineText = text.split(/\r?\n/)[line];
    assert.equal(want.range.end.line, line);
    assert.equal(want.range.start.character, lineText.length - lineText.trimStart().length, 'starts at the first non-blank character');
    assert.equal(want.range.end.character, lineText.length, 'ends at the end of the line');
    assert.match(want.message, /\(\d+x in /, 'message carries the count and where');
    for (const ri of want.relatedInformation ?? []) {
      assert.ok(ri.location.uri.startsWith('file:'), `related information points into the workspace: ${ri.location.uri}`);
      assert.ok(fs.existsSync(fileURLToPath(ri.location.uri)), `related file exists: ${ri.location.uri}`);
    }
  });

  it('hovers the diagnostic line with the incident in Markdown', async () => {
    const pos = { line: want.range.start.line, character: want.range.start.character + 1 };
    const hover = await client.request('textDocument/hover', { textDocument: { uri: fileUri }, position: pos });
    assert.ok(hover, 'a hover on the incident line');
    const c = hover.contents;
    const value = typeof c === 'string' ? c : Array.isArray(c) ? c.map((x) => (typeof x === 'string' ? x : x.value)).join('\n') : c.value;
    if (!Array.isArray(c) && typeof c === 'object') assert.equal(c.kind, 'markdown');
    assert.ok(value.includes(cfg.expect.messageContains), `hover mentions the error:\n${value}`);
    const busy = new Set((client.diagnosticsFor(file) ?? []).map((d) => d.range.start.line));
    const quiet = text.split(/\r?\n/).findIndex((_, i) => !busy.has(i));
    const none = await client.request('textDocument/hover', { textDocument: { uri: fileUri }, position: { line: quiet, character: 0 } });
    assert.equal(none, null, `no hover on line ${quiet + 1}, which has no incident`);
  });

  it('lists the incident with faultline.listIncidents', async () => {
    const rows = await client.command('faultline.listIncidents');
    assert.ok(Array.isArray(rows), `an array, got ${JSON.stringify(rows)}`);
    const row = rows.find((r) => r.id === String(want.code));
    assert.ok(row, `incident ${want.code} listed: ${JSON.stringify(rows)}`);
    assert.ok(samePath(row.uri, file), `row uri ${row.uri}`);
    assert.equal(row.line, want.range.start.line);
    assert.equal(row.character, want.range.start.character);
    assert.ok(row.message.includes(cfg.expect.messageContains));
    assert.ok(Number.isInteger(row.count) && row.count >= 1, `count ${row.count}`);
  });

  it('shows the incident with faultline.showIncident', async () => {
    const r = await client.command('faultline.showIncident', { id: String(want.code) });
    assert.equal(r.id, String(want.code));
    assert.ok(r.markdown.includes(cfg.expect.messageContains), r.markdown);
  });

  it('moves the diagnostic with the edits of the open document', async () => {
    client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: fileUri, languageId: languageOf(file), version: 1, text } });
    const inserted = '// inserted 1\n// inserted 2\n// inserted 3\n';
    client.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri: fileUri, version: 2 },
      contentChanges: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: inserted }],
    });
    const moved = await client.waitFor('the diagnostic 3 lines down', () => {
      const d = client.diagnosticsFor(file);
      return d?.find((x) => x.data?.id === want.data.id && x.range.start.line === want.range.start.line + 3);
    });
    assert.equal(moved.range.start.character, want.range.start.character);
    assert.equal(moved.message, want.message);
    const hover = await client.request('textDocument/hover', { textDocument: { uri: fileUri }, position: { line: moved.range.start.line, character: moved.range.start.character + 1 } });
    assert.ok(hover, 'hover follows the moved line');
    // Deleting the inserted lines brings it back.
    client.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri: fileUri, version: 3 },
      contentChanges: [{ range: { start: { line: 0, character: 0 }, end: { line: 3, character: 0 } }, text: '' }],
    });
    await client.waitFor('the diagnostic back on its line', () => client.diagnosticsFor(file)?.find((x) => x.data?.id === want.data.id && x.range.start.line === want.range.start.line));
    client.conn.sendNotification('textDocument/didClose', { textDocument: { uri: fileUri } });
  });

  it('refreshes on faultline.refresh and reports faultline/status', async () => {
    const before = client.statuses.length;
    const r = await client.command('faultline.refresh');
    assert.ok(Number.isInteger(r.incidents) && r.incidents >= 1, `refresh result ${JSON.stringify(r)}`);
    const st = await client.waitFor('a faultline/status after the refresh', () => client.statuses.length > before && client.statuses[client.statuses.length - 1]);
    assert.ok(st.incidents >= 1, JSON.stringify(st));
    assert.equal(typeof st.stale, 'boolean');
    assert.equal(st.stale, false, 'file sources do not go stale');
  });

  describe('fixes and pull requests', { skip: process.env.FAULTLINE_E2E_BARE ? false : 'FAULTLINE_E2E_BARE is not set: run editors/run-e2e.sh' }, () => {
    const VERSION = 10;
    let resolved; // the WorkspaceEdit of the preferred fix
    let fixed; // the document text with it applied

    it('offers a preferred quickfix for the diagnostic and resolves it to a versioned edit', async () => {
      client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: fileUri, languageId: languageOf(file), version: VERSION, text } });
      const diag = await client.waitFor('the diagnostic of the reopened document', () => client.diagnosticsFor(file)?.find((x) => x.data?.id === want.data.id && x.range.start.line === want.range.start.line));
      const actions = await client.request('textDocument/codeAction', {
        textDocument: { uri: fileUri },
        range: diag.range,
        context: { diagnostics: [diag], only: ['quickfix'], triggerKind: 1 },
      });
      assert.ok(Array.isArray(actions), `code actions: ${JSON.stringify(actions)}`);
      const fix = actions.find((a) => a.isPreferred);
      assert.ok(fix, `a preferred fix among ${JSON.stringify(actions.map((a) => a.title))}`);
      assert.equal(fix.kind, 'quickfix');
      assert.ok(fix.diagnostics?.some((d) => d.data?.id === want.data.id && String(d.code) === String(want.code)), `linked to the diagnostic: ${JSON.stringify(fix.diagnostics)}`);
      assert.equal(fix.edit, undefined, 'the edit is computed on resolve, not listed');
      assert.ok(fix.data, 'carries data for codeAction/resolve');

      const r = await client.request('codeAction/resolve', fix);
      assert.equal(r.title, fix.title);
      resolved = r.edit;
      const changes = resolved?.documentChanges;
      assert.ok(Array.isArray(changes) && changes.length === 1, `one document change: ${JSON.stringify(resolved)}`);
      assert.ok(samePath(changes[0].textDocument.uri, file), `edits ${changes[0].textDocument.uri}`);
      assert.equal(changes[0].textDocument.version, VERSION, 'the edit names the open document version');
      fixed = applyTextEdits(text, changes[0].edits);
      checkGuarded(text, fixed, cfg.expect);
    });

    it('applies the fix with faultline.applyFix through workspace/applyEdit', async () => {
      const before = client.appliedEdits.length;
      const r = await client.command('faultline.applyFix', { id: String(want.code), uri: fileUri, version: VERSION });
      assert.equal(r.applied, true, `applyFix result ${JSON.stringify(r)}`);
      assert.equal(typeof r.title, 'string');
      assert.equal(client.appliedEdits.length, before + 1, 'one workspace/applyEdit request');
      const req = client.appliedEdits[before];
      assert.deepEqual(req.edit, resolved, 'the same edit as codeAction/resolve');
      assert.equal(applyTextEdits(text, req.edit.documentChanges[0].edits), fixed);
      // As an editor does after applying: the buffer now holds the fix.
      client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: fileUri, version: VERSION + 1 }, contentChanges: [{ text: fixed }] });
      client.conn.sendNotification('textDocument/didClose', { textDocument: { uri: fileUri } });
    });

    it('opens a pull request with faultline.openPR, once', async () => {
      const id = String(want.code);
      const shown = client.shownDocuments.length;
      const r = await client.command('faultline.openPR', { id });
      assert.match(r?.url ?? '', /^https?:\/\//, `openPR result ${JSON.stringify(r)}`);
      const branch = `faultline/${id}`;

      const pulls = await fakePulls(`acme:${branch}`);
      assert.equal(pulls.length, 1, `one open pull request for ${branch}: ${JSON.stringify(pulls.map((p) => p.html_url))}`);
      assert.equal(r.url, pulls[0].html_url, "the URL is the pull request's html_url");
      assert.deepEqual(client.shownDocuments.slice(shown), [{ uri: r.url, external: true }], 'window/showDocument asked to open it outside the editor');

      const posts = recorded().filter((q) => q.method === 'POST' && q.path.endsWith('/repos/acme/checkout/pulls'));
      assert.equal(posts.length, 1, 'one POST /pulls');
      assert.equal(posts[0].status, 201);
      assert.equal(posts[0].body.head, branch);
      assert.equal(posts[0].body.base, 'main');
      assert.ok(posts[0].body.body.includes(id), 'the body cites the incident');
      assert.match(posts[0].body.body, /```diff\n[\s\S]*\n```/, 'the body carries the diff');

      // The pushed branch: one commit on main changing only the crashing file, to the fixed text.
      const bare = process.env.FAULTLINE_E2E_BARE;
      const head = git(bare, 'rev-parse', `refs/heads/${branch}`);
      assert.equal(git(bare, 'rev-parse', `${head}^`), git(bare, 'rev-parse', 'refs/heads/main'), 'the branch is one commit on main');
      assert.deepEqual(git(bare, 'diff', '--name-only', 'refs/heads/main', head).split('\n'), [cfg.expect.file], 'only the crashing file changes');
      assert.equal(git(bare, 'show', `${head}:${cfg.expect.file}`) + '\n', fixed.replace(/\n$/, '') + '\n', 'the branch holds the fix the editor applied');
      // The user's working tree is untouched: only the uncommitted config differs from HEAD.
      assert.deepEqual(git(cfg.root, 'status', '--porcelain').split('\n'), ['?? .faultline.yaml']);

      const again = await client.command('faultline.openPR', { id });
      assert.equal(again.url, r.url, 'a second openPR returns the same pull request');
      assert.equal(recorded().filter((q) => q.method === 'POST').length, 1, 'and does not POST again');
    });
  });
});

function languageOf(f) {
  return { '.go': 'go', '.py': 'python', '.java': 'java', '.js': 'javascript', '.ts': 'typescript' }[path.extname(f)] ?? 'plaintext';
}

/** applyTextEdits applies LSP TextEdits (UTF-16 positions, non-overlapping) to text. */
function applyTextEdits(text, edits) {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const offset = (p) => {
    assert.ok(p.line < starts.length, `edit line ${p.line} is past the end`);
    return starts[p.line] + p.character;
  };
  const sorted = edits.map((e) => ({ start: offset(e.range.start), end: offset(e.range.end), text: e.newText })).sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/**
 * checkGuarded asserts the fix keeps the crashing statement and, for an
 * index out of range at X[Y], guards it with Y < len(X).
 */
function checkGuarded(before, after, expect) {
  assert.notEqual(after, before, 'the fix changes the document');
  const stmt = before.split('\n')[expect.line - 1].trim();
  assert.ok(after.includes(stmt), `the crashing statement stays: ${stmt}\n${after}`);
  const m = /index out of range/.test(expect.messageContains) && stmt.match(/([\w.]+)\[(\w+)\]/);
  if (m) assert.ok(after.includes(`if ${m[2]} < len(${m[1]})`), `the index is bounds-checked (if ${m[2]} < len(${m[1]})):\n${after}`);
}

function git(dir, ...args) {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).replace(/\n$/, '');
}

/** fakePulls asks the fake GitHub for the open pull requests of head, as go-github does. */
async function fakePulls(head) {
  const u = new URL('repos/acme/checkout/pulls', process.env.FAULTLINE_E2E_GITHUB_URL);
  u.searchParams.set('head', head);
  u.searchParams.set('state', 'open');
  const res = await fetch(u, { headers: { Authorization: `Bearer ${process.env.GITHUB_TOKEN}`, Accept: 'application/vnd.github+json' } });
  assert.equal(res.status, 200, `GET ${u}`);
  return res.json();
}

/** recorded returns the requests the fake GitHub has seen, bodies decoded. */
function recorded() {
  const f = process.env.FAULTLINE_E2E_GITHUB_RECORD;
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : [];
}
