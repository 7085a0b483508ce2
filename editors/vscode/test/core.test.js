// Unit tests of the extension's pure logic (src/core), built to out/ by
// `node esbuild.mjs --test` (npm test does that first).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const { resolveBinary, INSTALL_LINE } = require('../out/core/binary.js');
const settings = require('../out/core/settings.js');
const { statusView, isStatus } = require('../out/core/status.js');
const inc = require('../out/core/incidents.js');

function host(files, env = {}, platform = 'linux') {
  const set = new Set(files);
  return { platform, env, homedir: '/home/u', isExecutable: (f) => set.has(f) };
}

test('resolveBinary', async (t) => {
  const cases = [
    { name: 'setting wins over PATH', configured: '/opt/fl/faultline', files: ['/opt/fl/faultline', '/usr/bin/faultline'], env: { PATH: '/usr/bin' }, want: '/opt/fl/faultline' },
    { name: 'tilde expands to home', configured: '~/bin/faultline', files: ['/home/u/bin/faultline'], env: {}, want: '/home/u/bin/faultline' },
    { name: 'relative setting is taken from the workspace root', configured: 'tools/faultline', root: '/ws', files: ['/ws/tools/faultline'], env: {}, want: '/ws/tools/faultline' },
    { name: 'first PATH entry that has it', configured: '', files: ['/b/faultline', '/c/faultline'], env: { PATH: '/a:/b:/c' }, want: '/b/faultline' },
    { name: 'GOBIN when not on PATH', configured: '', files: ['/gobin/faultline'], env: { PATH: '/usr/bin', GOBIN: '/gobin' }, want: '/gobin/faultline' },
    { name: 'GOPATH/bin when not on PATH', configured: '', files: ['/gp/bin/faultline'], env: { PATH: '/usr/bin', GOPATH: '/gp' }, want: '/gp/bin/faultline' },
    { name: '~/go/bin as the last resort', configured: '', files: ['/home/u/go/bin/faultline'], env: { PATH: '' }, want: '/home/u/go/bin/faultline' },
    { name: 'windows uses faultline.exe and ;', configured: '', files: [path.join('C:/x', 'faultline.exe')], env: { Path: 'C:/w;C:/x' }, platform: 'win32', want: path.join('C:/x', 'faultline.exe') },
    { name: 'missing everywhere', configured: '', files: [], env: { PATH: '/usr/bin' }, wantErr: /not found on PATH/ },
    { name: 'bad setting does not fall back to PATH', configured: '/nope/faultline', files: ['/usr/bin/faultline'], env: { PATH: '/usr/bin' }, wantErr: /faultline\.path.*\/nope\/faultline/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const r = resolveBinary(c.configured, host(c.files, c.env, c.platform), c.root);
      if (c.wantErr) {
        assert.equal(r.ok, false);
        assert.match(r.message, c.wantErr);
        assert.ok(r.message.includes(INSTALL_LINE), 'message carries the install line');
      } else {
        assert.deepEqual(r, { ok: true, path: c.want });
      }
    });
  }
  assert.equal(INSTALL_LINE, 'go install github.com/faultline-dev/faultline/cmd/faultline@latest');
});

function getter(values) {
  return (k) => values[k];
}

test('settings map to the server config keys, only when set', async (t) => {
  const cases = [
    { name: 'nothing set sends nothing (the .faultline.yaml stays in charge)', values: {}, want: {} },
    {
      name: 'every setting',
      values: {
        sources: ['loki:http://127.0.0.1:3100', 'file:logs/prod.jsonl', { kind: 'loki', url: 'http://l:3100', selector: '{service="checkout"}', junk: 1 }],
        pollInterval: '2m',
        'severity.new': 'warning',
        'severity.recurring': 'hint',
        'llm.enabled': true,
        'llm.provider': 'ollama',
      },
      want: {
        sources: [
          { kind: 'loki', url: 'http://127.0.0.1:3100' },
          { kind: 'file', path: 'logs/prod.jsonl' },
          { kind: 'loki', url: 'http://l:3100', selector: '{service="checkout"}' },
        ],
        poll_interval: '2m',
        severity: { new: 'warning', recurring: 'hint' },
        llm: { provider: 'ollama', send_code: true },
      },
    },
    { name: 'llm provider without enabled sends no provider and no code', values: { 'llm.provider': 'openai' }, want: { llm: { send_code: false } } },
    { name: 'llm explicitly disabled', values: { 'llm.enabled': false }, want: { llm: { send_code: false } } },
    { name: 'invalid values count as unset', values: { pollInterval: 'soon', 'severity.new': 'fatal', 'llm.provider': 'skynet' }, want: {} },
    { name: 'empty sources list is sent (the user cleared them)', values: { sources: [] }, want: { sources: [] } },
    { name: 'malformed sources are dropped', values: { sources: ['noscheme', ':x', 'loki:', 42, null, { kind: 'loki' }, ['a']] }, want: { sources: [] } },
    { name: 'only one severity', values: { 'severity.recurring': 'information' }, want: { severity: { recurring: 'information' } } },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.deepEqual(settings.toServerConfig(settings.readSettings(getter(c.values))), c.want);
    });
  }
});

test('serverArgs appends extraArgs after serve and ignores non-strings', () => {
  const s = settings.readSettings(getter({ extraArgs: ['--logs', 'prod.jsonl', 3, '--poll', '5s'] }));
  assert.deepEqual(settings.serverArgs(s), ['serve', '--logs', 'prod.jsonl', '--poll', '5s']);
  assert.deepEqual(settings.serverArgs(settings.readSettings(getter({}))), ['serve']);
});

test('configurationResponse answers our section and dotted keys, null otherwise', () => {
  const s = settings.readSettings(getter({ 'severity.new': 'hint', pollInterval: '10s' }));
  assert.deepEqual(settings.configurationResponse('faultline', s), { poll_interval: '10s', severity: { new: 'hint' } });
  assert.deepEqual(settings.configurationResponse('faultline.severity', s), { new: 'hint' });
  assert.equal(settings.configurationResponse('faultline.poll_interval', s), '10s');
  assert.equal(settings.configurationResponse('faultline.llm', s), null);
  assert.equal(settings.configurationResponse('editor', s), null);
  assert.equal(settings.configurationResponse(undefined, s), null);
  assert.equal(settings.isOurSection('faultlinex'), false);
});

test('needsRestart only for path and extraArgs', () => {
  const a = settings.readSettings(getter({ extraArgs: ['--logs', 'a'] }));
  assert.equal(settings.needsRestart(a, settings.readSettings(getter({ extraArgs: ['--logs', 'a'], 'severity.new': 'hint' }))), false);
  assert.equal(settings.needsRestart(a, settings.readSettings(getter({ extraArgs: ['--logs', 'b'] }))), true);
  assert.equal(settings.needsRestart(a, settings.readSettings(getter({ extraArgs: ['--logs', 'a'], path: '/x' }))), true);
});

test('statusView', async (t) => {
  const cases = [
    { name: 'missing binary', state: 'missing', want: { text: /error.*Faultline/, level: 'error' } },
    { name: 'stopped', state: 'stopped', want: { level: 'error' } },
    { name: 'running before the first poll', state: 'running', want: { text: /sync~spin/, level: 'ok' } },
    { name: 'healthy with incidents', state: 'running', status: { incidents: 3, stale: false, sources: [{ name: 'file logs.jsonl', ok: true }] }, want: { text: /^\$\(bug\) 3 incidents$/, level: 'ok', tooltip: /✓ file logs\.jsonl/ } },
    { name: 'one incident is singular', state: 'running', status: { incidents: 1, stale: false }, want: { text: /1 incident$/ } },
    { name: 'zero incidents', state: 'running', status: { incidents: 0, stale: false }, want: { text: /check.*0 incidents/ } },
    {
      name: 'failing source and stale',
      state: 'running',
      status: { incidents: 2, stale: true, message: 'loki: connection refused', sources: [{ name: 'loki http://l', ok: false, error: 'connection refused' }] },
      want: { text: /^\$\(warning\) 2 incidents \(stale\)$/, level: 'warning', tooltip: /Stale[\s\S]*✗ loki http:\/\/l: connection refused/ },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const v = statusView(c.state, c.status);
      if (c.want.text) assert.match(v.text, c.want.text);
      if (c.want.tooltip) assert.match(v.tooltip, c.want.tooltip);
      if (c.want.level) assert.equal(v.level, c.want.level);
    });
  }
});

test('isStatus rejects malformed notifications', () => {
  assert.equal(isStatus({ incidents: 2, stale: false }), true);
  for (const bad of [null, 3, {}, { incidents: '2', stale: false }, { incidents: 2 }, { incidents: NaN, stale: true }, { incidents: 1, stale: false, sources: 'x' }]) {
    assert.equal(isStatus(bad), false, JSON.stringify(bad));
  }
});

const range = (l, c0, c1) => ({ start: { line: l, character: c0 }, end: { line: l, character: c1 } });

test('incidentId reads data.id, then code, only from faultline', () => {
  assert.equal(inc.incidentId({ source: 'faultline', code: 'c1', data: { id: 'd1' }, range: range(0, 0, 1), message: '' }), 'd1');
  assert.equal(inc.incidentId({ source: 'faultline', code: 'c1', range: range(0, 0, 1), message: '' }), 'c1');
  assert.equal(inc.incidentId({ source: 'faultline', code: { value: 'c2' }, range: range(0, 0, 1), message: '' }), 'c2');
  assert.equal(inc.incidentId({ source: 'gopls', code: 'c1', range: range(0, 0, 1), message: '' }), undefined);
  assert.equal(inc.incidentId({ source: 'faultline', range: range(0, 0, 1), message: '' }), undefined);
});

test('incidentsAt picks diagnostics on the cursor line, nearest first, deduplicated', () => {
  const diags = [
    { source: 'faultline', data: { id: 'far' }, range: range(4, 20, 30), message: 'a' },
    { source: 'faultline', data: { id: 'near' }, range: range(4, 2, 30), message: 'b' },
    { source: 'faultline', data: { id: 'near' }, range: range(4, 2, 30), message: 'b again' },
    { source: 'gopls', code: 'x', range: range(4, 0, 3), message: 'c' },
    { source: 'faultline', data: { id: 'other-line' }, range: range(9, 0, 3), message: 'd' },
  ];
  assert.deepEqual(inc.incidentsAt(diags, 4, 3), ['near', 'far']);
  assert.deepEqual(inc.incidentsAt(diags, 5, 0), []);
});

test('pickItems sorts by count and shows file:line 1-based', () => {
  const rows = [
    { id: 'a', uri: 'file:///ws/a.go', line: 9, character: 1, message: 'panic: a\nmore', service: 'checkout', env: 'prod', count: 2 },
    { id: 'b', uri: 'file:///ws/b.go', line: 0, character: 0, message: 'panic: b', count: 14 },
  ];
  const items = inc.pickItems(rows, (u) => u.replace('file:///ws/', ''));
  assert.deepEqual(items.map((i) => [i.id, i.label, i.detail, i.description]), [
    ['b', 'panic: b', 'b.go:1', ' · 14x'],
    ['a', 'panic: a', 'a.go:10', 'checkout/prod · 2x'],
  ]);
  assert.equal(inc.isIncidentRows(rows), true);
  assert.equal(inc.isIncidentRows([{ id: 'a' }]), false);
  assert.equal(inc.isIncidentRows({}), false);
});

test('incident doc paths round-trip ids with odd characters', () => {
  for (const id of ['abc123', 'a/b c?#%', 'ü']) {
    assert.equal(inc.incidentIdFromPath(inc.incidentDocPath(id)), id);
  }
  assert.equal(inc.incidentIdFromPath('/x.txt'), undefined);
  assert.equal(inc.incidentIdFromPath('/%E0%A4%A.md'), undefined);
});

test('commandArgs is a one-element array without undefined fields', () => {
  assert.deepEqual(inc.commandArgs('faultline.applyFix', { id: 'x', uri: 'file:///a', version: undefined }), [{ id: 'x', uri: 'file:///a' }]);
  assert.deepEqual(inc.commandArgs('faultline.listIncidents'), [{}]);
});

test('outcome of each command result', async (t) => {
  const cases = [
    ['faultline.showIncident', { id: 'x', markdown: '# X' }, { kind: 'showMarkdown', id: 'x', markdown: '# X' }],
    ['faultline.showIncident', null, { kind: 'warn' }],
    ['faultline.openPR', { url: 'https://github.com/o/r/pull/7' }, { kind: 'openUrl', url: 'https://github.com/o/r/pull/7' }],
    ['faultline.openPR', { url: 'javascript:alert(1)' }, { kind: 'warn' }],
    ['faultline.applyFix', { applied: true, title: 'Guard index' }, { kind: 'info', message: /Guard index/ }],
    ['faultline.applyFix', { applied: false }, { kind: 'warn' }],
    ['faultline.refresh', { incidents: 1 }, { kind: 'info', message: /1 incident\./ }],
    ['faultline.explainFrame', { markdown: 'x' }, { kind: 'none' }],
  ];
  for (const [cmd, result, want] of cases) {
    await t.test(`${cmd} ${JSON.stringify(result)}`, () => {
      const o = inc.outcome(cmd, result);
      assert.equal(o.kind, want.kind);
      for (const [k, v] of Object.entries(want)) {
        if (v instanceof RegExp) assert.match(o[k], v);
        else assert.equal(o[k], v);
      }
    });
  }
});

test('RecentUrls forgets after its window', () => {
  const r = new inc.RecentUrls(1000);
  r.mark('https://x/pull/1', 0);
  assert.equal(r.wasOpened('https://x/pull/1', 500), true);
  assert.equal(r.wasOpened('https://x/pull/2', 500), false);
  assert.equal(r.wasOpened('https://x/pull/1', 1501), false);
});
