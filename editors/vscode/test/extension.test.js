// Tests of src/extension.ts at its boundary: vscode and vscode-languageclient
// are stubbed (test/vscode-stub.js), everything else is the real bundle.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadExtension } = require('./vscode-stub.js');

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
const INSTALL = 'go install github.com/faultline-dev/faultline/cmd/faultline@latest';

function fakeBinary() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-bin-'));
  const bin = path.join(dir, 'faultline');
  fs.writeFileSync(bin, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return bin;
}

const ctx = () => ({ subscriptions: [] });
const tick = () => new Promise((r) => setImmediate(r));

test('a missing binary shows the install line and starts no client', async () => {
  const s = loadExtension({ settings: { path: '/nonexistent/faultline' }, errorChoice: 'Copy install command' });
  await s.ext.activate(ctx());
  await tick();
  assert.equal(s.rec.clients.length, 0);
  assert.equal(s.rec.errors.length, 1);
  assert.ok(s.rec.errors[0].m.includes(INSTALL), s.rec.errors[0].m);
  assert.deepEqual(s.rec.errors[0].items, ['Copy install command', 'Open Settings']);
  assert.deepEqual(s.rec.clipboard, [INSTALL]);
  assert.match(s.item.text, /error/);
});

test('the server starts as `faultline serve` plus extraArgs with the user settings', async () => {
  const bin = fakeBinary();
  const s = loadExtension({ settings: { path: bin, extraArgs: ['--logs', 'prod.jsonl'], 'severity.new': 'warning', sources: ['loki:http://127.0.0.1:3100'] } });
  await s.ext.activate(ctx());
  assert.equal(s.rec.clients.length, 1);
  const c = s.rec.clients[0];
  assert.equal(c.serverOptions.run.command, bin);
  assert.deepEqual(c.serverOptions.run.args, ['serve', '--logs', 'prod.jsonl']);
  assert.equal(c.serverOptions.run.options.cwd, '/ws');
  const want = { sources: [{ kind: 'loki', url: 'http://127.0.0.1:3100' }], severity: { new: 'warning' } };
  assert.deepEqual(c.clientOptions.initializationOptions, want);
  // workspace/configuration: our section from settings, others from VS Code.
  const conf = c.clientOptions.middleware.workspace.configuration;
  const got = await conf({ items: [{ section: 'faultline' }, { section: 'editor' }, { section: 'faultline.severity' }] }, undefined, async () => ['d0', 'd1', 'd2']);
  assert.deepEqual(got, [want, 'd1', { new: 'warning' }]);
  assert.match(s.item.text, /sync~spin/, 'waiting for the first poll');
});

test('every palette command in package.json is registered, and only those', async () => {
  const s = loadExtension({ settings: { path: fakeBinary() } });
  await s.ext.activate(ctx());
  const contributed = pkg.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual([...s.commands.keys()].sort(), contributed);
  for (const c of pkg.contributes.commands) assert.equal(c.category, 'Faultline');
  // No palette command may collide with a server command the client library registers.
  for (const id of contributed) assert.ok(!/^faultline\.(showIncident|listIncidents|refresh|applyFix|openPR|explainFrame)$/.test(id), id);
});

test('faultline/status drives the status bar; malformed payloads are ignored', async () => {
  const s = loadExtension({ settings: { path: fakeBinary() } });
  await s.ext.activate(ctx());
  const h = s.rec.clients[0].handlers['faultline/status'];
  h({ incidents: 2, stale: true, sources: [{ name: 'loki http://l', ok: false, error: 'refused' }] });
  assert.equal(s.item.text, '$(warning) 2 incidents (stale)');
  assert.match(s.item.tooltip, /loki http:\/\/l: refused/);
  assert.equal(s.item.backgroundColor.id, 'statusBarItem.warningBackground');
  assert.equal(s.item.command, 'faultline.ui.refresh');
  h({ incidents: 'many' });
  assert.equal(s.item.text, '$(warning) 2 incidents (stale)');
  h({ incidents: 1, stale: false, sources: [{ name: 'file a', ok: true }] });
  assert.equal(s.item.text, '$(bug) 1 incident');
  assert.equal(s.item.backgroundColor, undefined);
});

const diag = (id, line) => ({ source: 'faultline', code: id, data: { id }, message: 'panic', range: { start: { line, character: 1 }, end: { line, character: 20 } } });
const editorAt = (line, version = 7) => ({
  document: { uri: { toString: () => 'file:///ws/cart/cart.go', path: '/ws/cart/cart.go' }, version },
  selection: { active: { line, character: 4 } },
});

test('Show Incident at the cursor opens the read-only markdown view', async () => {
  const s = loadExtension({
    settings: { path: fakeBinary() },
    editor: editorAt(41),
    diagnostics: [diag('other', 3), diag('inc-42', 41)],
    answer: (m, p) => (p.command === 'faultline.showIncident' ? { id: p.arguments[0].id, markdown: `# ${p.arguments[0].id}\n` } : null),
  });
  await s.ext.activate(ctx());
  await s.commands.get('faultline.ui.showIncident')();
  assert.deepEqual(s.rec.requests, [{ method: 'workspace/executeCommand', params: { command: 'faultline.showIncident', arguments: [{ id: 'inc-42' }] } }]);
  const preview = s.rec.executed.find((e) => e.id === 'markdown.showPreview');
  assert.ok(preview, 'markdown preview opened');
  const uri = preview.args[0];
  assert.equal(uri.scheme, 'faultline-incident');
  assert.equal(await s.rec.providers['faultline-incident'].provideTextDocumentContent(uri), '# inc-42\n');
  // A view reopened later (not cached) asks the server again.
  const again = await s.rec.providers['faultline-incident'].provideTextDocumentContent({ path: '/other.md' });
  assert.equal(again, '# other\n');
});

test('Apply Fix sends the incident, the document uri and its version', async () => {
  const s = loadExtension({
    settings: { path: fakeBinary() },
    editor: editorAt(41, 12),
    diagnostics: [diag('inc-42', 41)],
    answer: () => ({ applied: true, title: 'Guard the index' }),
  });
  await s.ext.activate(ctx());
  await s.commands.get('faultline.ui.applyFix')();
  assert.deepEqual(s.rec.requests[0].params, { command: 'faultline.applyFix', arguments: [{ id: 'inc-42', uri: 'file:///ws/cart/cart.go', version: 12 }] });
  assert.match(s.rec.infos[0], /Guard the index/);
});

test('Open Pull Request off a diagnostic picks from listIncidents and opens the URL once', async () => {
  let client;
  const url = 'https://github.com/acme/shop/pull/9';
  const s = loadExtension({
    settings: { path: fakeBinary() },
    quickPick: (items) => items.find((i) => i.id === 'b'),
    answer: async (m, p, c) => {
      client = c;
      if (p.command === 'faultline.listIncidents') {
        return [
          { id: 'a', uri: 'file:///ws/a.go', line: 1, character: 0, message: 'panic: a', count: 1 },
          { id: 'b', uri: 'file:///ws/b.go', line: 9, character: 2, message: 'panic: b', count: 5 },
        ];
      }
      if (p.command === 'faultline.openPR') {
        // The server asks window/showDocument before answering, as the contract says.
        await c.clientOptions.middleware.window.showDocument({ uri: url, external: true }, undefined, async () => ({ success: true }));
        return { url };
      }
      return null;
    },
  });
  await s.ext.activate(ctx());
  await s.commands.get('faultline.ui.openPR')();
  assert.equal(s.rec.quickPicks.length, 1);
  assert.deepEqual(s.rec.quickPicks[0].map((i) => i.id), ['b', 'a'], 'most frequent first');
  assert.deepEqual(s.rec.requests.map((r) => r.params.arguments[0]), [{}, { id: 'b' }]);
  assert.deepEqual(s.rec.opened, [], 'already opened by showDocument: not twice');
  assert.ok(s.rec.infos.some((m) => m.includes(url)));
  assert.ok(client);

  // Without a showDocument from the server the extension opens the URL itself.
  const s2 = loadExtension({ settings: { path: fakeBinary() }, editor: editorAt(1), diagnostics: [diag('a', 1)], answer: () => ({ url }) });
  await s2.ext.activate(ctx());
  await s2.commands.get('faultline.ui.openPR')();
  assert.deepEqual(s2.rec.opened, [url]);
});

test('server commands from code lenses go through the middleware and are shown', async () => {
  const s = loadExtension({ settings: { path: fakeBinary() } });
  await s.ext.activate(ctx());
  const mw = s.rec.clients[0].clientOptions.middleware.executeCommand;
  const r = await mw('faultline.showIncident', [{ id: 'x' }], async (cmd, args) => ({ id: args[0].id, markdown: '# lens' }));
  assert.deepEqual(r, { id: 'x', markdown: '# lens' });
  assert.ok(s.rec.executed.some((e) => e.id === 'markdown.showPreview'));
});

test('a failing request is reported, not thrown into VS Code', async () => {
  const s = loadExtension({ settings: { path: fakeBinary() }, answer: () => { throw new Error('no fix available for this incident'); }, editor: editorAt(1), diagnostics: [diag('a', 1)] });
  await s.ext.activate(ctx());
  await s.commands.get('faultline.ui.applyFix')();
  assert.ok(s.rec.errors.some((e) => /no fix available/.test(e.m)));
});

test('settings changes: severity is pushed, extraArgs restart the server', async () => {
  const settings = { path: fakeBinary() };
  const s = loadExtension({ settings });
  await s.ext.activate(ctx());
  settings['severity.recurring'] = 'hint';
  await s.rec.configListener({ affectsConfiguration: (sec) => sec === 'faultline' });
  await tick();
  assert.deepEqual(s.rec.notifications, [{ method: 'workspace/didChangeConfiguration', params: { settings: { faultline: { severity: { recurring: 'hint' } } } } }]);
  assert.equal(s.rec.clients.length, 1);
  settings.extraArgs = ['--poll', '5s'];
  await s.rec.configListener({ affectsConfiguration: (sec) => sec === 'faultline' });
  await tick();
  assert.equal(s.rec.clients.length, 2, 'restarted');
  assert.deepEqual(s.rec.clients[1].serverOptions.run.args, ['serve', '--poll', '5s']);
});
