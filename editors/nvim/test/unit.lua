-- Unit tests of the plugin's own logic, no server needed: root detection,
-- command line, quickfix conversion, status string, incident at cursor.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h') .. '/helpers.lua')
H.load_plugin()
local fl = require('faultline')
local cmds = require('faultline.commands')

-- Root detection: the nearest ancestor with a marker wins.
local tmp = vim.fn.tempname()
vim.fn.mkdir(tmp .. '/repo/.git', 'p')
vim.fn.mkdir(tmp .. '/repo/services/checkout/cart', 'p')
vim.fn.writefile({ 'sources: []' }, tmp .. '/repo/services/checkout/.faultline.yaml')
vim.fn.writefile({ 'package cart' }, tmp .. '/repo/services/checkout/cart/cart.go')
vim.fn.mkdir(tmp .. '/elsewhere', 'p')
vim.fn.writefile({ 'x' }, tmp .. '/elsewhere/a.txt')
H.eq(fl.find_root(tmp .. '/repo/services/checkout/cart/cart.go'), tmp .. '/repo/services/checkout', 'nearest .faultline.yaml is the root')
H.eq(fl.find_root(tmp .. '/repo/services/checkout/cart/cart.go', { '.git' }), tmp .. '/repo', '.git marker')
H.eq(fl.find_root(tmp .. '/elsewhere/a.txt'), nil, 'no root outside a repository')
H.eq(fl.find_root(''), nil, 'empty name has no root')

-- Command line.
fl.setup({ autostart = false, args = { '--logs', 'prod.jsonl' } })
H.eq(fl.server_cmd(), { 'faultline', 'serve', '--logs', 'prod.jsonl' }, 'cmd from path and args')
fl.setup({ autostart = false, path = '/opt/faultline' })
H.eq(fl.server_cmd(), { '/opt/faultline', 'serve' }, 'cmd from path')
fl.setup({ autostart = false, cmd = { 'x', 'serve', '--poll', '5s' }, args = { 'ignored' } })
H.eq(fl.server_cmd(), { 'x', 'serve', '--poll', '5s' }, 'explicit cmd wins')

-- Settings go out as an object (or not at all), never as an empty JSON array.
fl.setup({ autostart = false, settings = { severity = { new = 'warning' }, sources = { { kind = 'loki', url = 'http://l' } } } })
local cc = fl.client_config(tmp .. '/repo')
H.eq(cc.init_options, { severity = { new = 'warning' }, sources = { { kind = 'loki', url = 'http://l' } } }, 'settings are the init options')
H.eq(vim.lsp.util.lookup_section(cc.settings, 'faultline'), cc.init_options, 'workspace/configuration section faultline')
H.eq(cc.root_dir, tmp .. '/repo', 'root_dir')
H.ok(cc.capabilities.window.showDocument.support == true, 'advertises window/showDocument')
fl.setup({ autostart = false })
cc = fl.client_config(tmp .. '/repo')
H.eq(cc.init_options, nil, 'no settings, no init options')
H.eq(vim.lsp.util.lookup_section(cc.settings, 'faultline'), vim.NIL, 'no settings answer null')

-- Quickfix conversion (0-based rows to 1-based quickfix).
local items = cmds.qf_items({
  { id = 'a', uri = 'file:///ws/cart/cart.go', line = 41, character = 4, message = 'panic: boom\nmore', severity = 1, service = 'checkout', env = 'prod', count = 14 },
  { id = 'b', uri = 'file:///ws/x.py', line = 0, character = 0, message = 'ValueError', severity = 2 },
  { id = 'bad' },
  'junk',
})
H.eq(#items, 2, 'malformed rows are skipped')
H.eq({ items[1].filename, items[1].lnum, items[1].col, items[1].text, items[1].type }, { '/ws/cart/cart.go', 42, 5, 'panic: boom [checkout/prod 14x]', 'E' }, 'quickfix item')
H.eq({ items[2].text, items[2].type }, { 'ValueError', 'W' }, 'quickfix item without service')

-- Status string.
H.eq(fl.format_status({ incidents = 3, stale = false }), 'Faultline 3 incidents', 'status')
H.eq(fl.format_status({ incidents = 1, stale = true, sources = { { name = 'loki http://l', ok = false, error = 'refused' }, { name = 'file a', ok = true } } }), 'Faultline 1 incident (stale) ✗ loki http://l', 'stale status with a failing source')
H.eq(fl.format_status({ incidents = '3' }), '', 'malformed status')
fl.set_status('/r', { nope = true })
H.eq(fl._state.status['/r'], nil, 'malformed status is not recorded')

-- Incident at the cursor, from diagnostics as the LSP client stores them.
local buf = vim.api.nvim_create_buf(true, false)
vim.api.nvim_buf_set_lines(buf, 0, -1, false, { 'a', '    total := items[3]', 'c' })
local ns = vim.api.nvim_create_namespace('faultline-test')
vim.diagnostic.set(ns, buf, {
  { lnum = 1, col = 20, message = 'far', source = 'faultline', code = 'far', user_data = { lsp = { data = { id = 'far' } } } },
  { lnum = 1, col = 4, message = 'near', source = 'faultline', code = 'code-only' },
  { lnum = 1, col = 4, message = 'other tool', source = 'gopls', code = 'x' },
  { lnum = 2, col = 0, message = 'next line', source = 'faultline', code = 'n' },
})
H.eq(cmds.incidents_at(buf, 1, 5), { 'code-only', 'far' }, 'incidents at cursor, nearest first')
H.eq(cmds.incidents_at(buf, 0, 0), {}, 'no incident on a clean line')

-- Every user command and <Plug> mapping exists.
for _, c in ipairs({ 'FaultlineShowIncident', 'FaultlineApplyFix', 'FaultlineOpenPR', 'FaultlineRefresh', 'FaultlineIncidents' }) do
  H.ok(vim.fn.exists(':' .. c) == 2, ':' .. c .. ' exists')
end
H.ok(vim.fn.maparg('<Plug>(faultline-incidents)', 'n') ~= '', '<Plug>(faultline-incidents) mapped')

-- Commands without a server warn instead of failing.
local warned
local orig = vim.notify
vim.notify = function(msg)
  warned = msg
end
vim.cmd('FaultlineRefresh')
vim.notify = orig
H.ok(warned and warned:match('no faultline server'), 'a command without a server warns', warned)

-- checkhealth runs on this Neovim's health API without errors.
local ok, err = pcall(vim.cmd, 'checkhealth faultline')
H.ok(ok, ':checkhealth faultline runs', tostring(err))
local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
H.ok(report:match('faultline binary') and report:match('Neovim'), 'health report has its sections', report)

H.finish('nvim unit')
vim.cmd('qa!')
