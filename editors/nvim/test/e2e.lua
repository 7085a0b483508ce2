-- End-to-end test: headless Neovim, the plugin from editors/nvim, the real
-- `faultline serve`. Same environment as the Node e2e test:
--   FAULTLINE_BIN, FAULTLINE_E2E_WORKSPACE, FAULTLINE_E2E_LOGS,
--   FAULTLINE_E2E_DEPLOYS (optional), FAULTLINE_E2E_EXPECT {file, line (1-based), messageContains}
--   FAULTLINE_E2E_BARE (origin of the workspace), FAULTLINE_E2E_GITHUB_URL (the
--   fake GitHub's REST base URL, also in the workspace's .faultline.yaml).
-- It also applies the incident's fix and opens its pull request.
-- Run through run.sh (pcall + cq, under timeout), never with plain -c luafile.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h') .. '/helpers.lua')
local WAIT = tonumber(os.getenv('FAULTLINE_E2E_WAIT_MS') or '') or 30000

local function need(k)
  local v = os.getenv(k)
  if v == nil or v == '' then
    error('FAIL ' .. k .. ' is not set (editors/run-e2e.sh sets it)', 0)
  end
  return v
end

local bin = need('FAULTLINE_BIN')
local root = vim.fn.fnamemodify(need('FAULTLINE_E2E_WORKSPACE'), ':p'):gsub('/$', '')
local logs = vim.fn.fnamemodify(need('FAULTLINE_E2E_LOGS'), ':p')
local deploys = os.getenv('FAULTLINE_E2E_DEPLOYS')
local expect = vim.fn.json_decode(need('FAULTLINE_E2E_EXPECT'))
local line0 = expect.line - 1

local cmd = { bin, 'serve', '--logs', logs }
if deploys and deploys ~= '' then
  vim.list_extend(cmd, { '--deploys', vim.fn.fnamemodify(deploys, ':p') })
end

local opened_urls = {}
H.load_plugin()
local fl = require('faultline')
fl.setup({
  cmd = cmd,
  incident_view = 'float',
  open_url = function(url)
    table.insert(opened_urls, url)
  end,
})

vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/' .. expect.file))
local buf = vim.api.nvim_get_current_buf()
local client = H.wait(WAIT, 'the faultline client to attach', function()
  return fl.clients(buf)[1]
end)
H.ok(vim.lsp.buf_is_attached(buf, client.id), 'the file is attached to the faultline client')
H.eq(client.config.root_dir, root, 'root detected from the workspace')

local function ours(lnum)
  for _, d in ipairs(vim.diagnostic.get(buf, { lnum = lnum })) do
    if d.source == 'faultline' and d.message:find(expect.messageContains, 1, true) then
      return d
    end
  end
end

local d = H.wait(WAIT, 'a faultline diagnostic on line ' .. expect.line, function()
  return ours(line0)
end)
H.ok(d.severity == vim.diagnostic.severity.ERROR or d.severity == vim.diagnostic.severity.WARN, 'severity is Error or Warning', vim.inspect(d))
local text = vim.api.nvim_buf_get_lines(buf, line0, line0 + 1, false)[1]
H.eq(d.col, #text - #text:gsub('^%s+', ''), 'diagnostic starts at the first non-blank column')
local id = d.user_data and d.user_data.lsp and d.user_data.lsp.data and d.user_data.lsp.data.id
H.ok(type(id) == 'string' and id ~= '', 'diagnostic data carries the incident id', vim.inspect(d))

-- Hover on the incident line.
vim.api.nvim_win_set_cursor(0, { expect.line, d.col })
local params = vim.lsp.util.make_position_params()
local resp, err = client.request_sync('textDocument/hover', params, WAIT, buf)
H.ok(resp and not resp.err and resp.result, 'hover answered', vim.inspect(resp or err))
local contents = resp.result.contents
local hover = type(contents) == 'string' and contents or contents.value or vim.inspect(contents)
H.ok(hover:find(expect.messageContains, 1, true), 'hover mentions the error', hover)

-- The status line string follows faultline/status.
local st = H.wait(WAIT, 'faultline/status', function()
  local s = fl.status()
  return s ~= '' and s
end)
H.ok(st:match('^Faultline %d+ incident'), 'status() shows the count: ' .. st, st)

-- :FaultlineIncidents fills and opens the quickfix list.
vim.cmd('FaultlineIncidents')
local qf = H.wait(WAIT, 'the quickfix list', function()
  local l = vim.fn.getqflist({ title = 1, items = 1, winid = 1 })
  return l.title == 'Faultline incidents' and #l.items > 0 and l
end)
local hit
for _, it in ipairs(qf.items) do
  if vim.api.nvim_buf_get_name(it.bufnr) == vim.api.nvim_buf_get_name(buf) and it.lnum == expect.line and it.text:find(expect.messageContains, 1, true) then
    hit = it
  end
end
H.ok(hit, 'quickfix has the incident at ' .. expect.file .. ':' .. expect.line, vim.inspect(qf.items))
H.ok(qf.winid ~= 0, 'the quickfix window is open')
vim.cmd('cclose')

-- Several incidents may share a line: the commands then ask with
-- vim.ui.select, which must not block a headless run. Pick ours.
local selects = 0
vim.ui.select = function(items, _, on_choice)
  selects = selects + 1
  for _, it in ipairs(items) do
    if it == id or (type(it) == 'table' and it.user_data and it.user_data.id == id) then
      return on_choice(it)
    end
  end
  on_choice(items[1])
end

-- :FaultlineShowIncident opens the incident's Markdown in a float.
vim.api.nvim_set_current_buf(buf)
vim.api.nvim_win_set_cursor(0, { expect.line, d.col })
vim.cmd('FaultlineShowIncident')
local float = H.wait(WAIT, 'the incident float', function()
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= '' then
      return w
    end
  end
end)
local md = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(float), 0, -1, false), '\n')
H.ok(md:find(expect.messageContains, 1, true), 'the float shows the incident', md)
vim.api.nvim_win_close(float, true)
io.stdout:write(string.format('# vim.ui.select asked %d time(s): %d incident(s) on line %d\n', selects, #vim.diagnostic.get(buf, { lnum = line0 }), expect.line))

-- With an explicit id, in a split.
fl.config.incident_view = 'split'
vim.cmd('FaultlineShowIncident ' .. id)
local split = H.wait(WAIT, 'the incident buffer', function()
  local b = vim.fn.bufnr('faultline://incident/' .. id)
  return b ~= -1 and vim.api.nvim_buf_line_count(b) > 1 and b
end)
H.ok(vim.bo[split].filetype == 'markdown' and not vim.bo[split].modifiable, 'incident split is read-only markdown')
H.ok(table.concat(vim.api.nvim_buf_get_lines(split, 0, -1, false), '\n'):find(expect.messageContains, 1, true), 'incident split shows the incident')
vim.cmd('close')
fl.config.incident_view = 'float'

-- Editing above the incident moves its diagnostic.
vim.api.nvim_buf_set_lines(buf, 0, 0, false, { '// inserted 1', '// inserted 2', '// inserted 3' })
H.wait(WAIT, 'the diagnostic to move 3 lines down', function()
  return ours(line0 + 3)
end)
H.ok(ours(line0) == nil, 'no diagnostic left on the old line')
vim.api.nvim_buf_set_lines(buf, 0, 3, false, {})
H.wait(WAIT, 'the diagnostic back on its line', function()
  return ours(line0)
end)
H.ok(true, 'diagnostic follows edits both ways')

-- :FaultlineApplyFix applies the preferred fix through workspace/applyEdit.
local before = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
local stmt = vim.trim(before[expect.line])
vim.api.nvim_win_set_cursor(0, { expect.line, d.col })
vim.cmd('FaultlineApplyFix')
local after = H.wait(WAIT, 'the fix to change the buffer', function()
  local now = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  return now ~= table.concat(before, '\n') and now
end)
H.ok(vim.bo[buf].modified, 'the fix was applied to the buffer')
H.ok(after:find(stmt, 1, true), 'the crashing statement stays', after)
-- An index out of range at X[Y] is guarded by Y < len(X).
local x, y = stmt:match('([%w_.]+)%[([%w_]+)%]')
if expect.messageContains:find('index out of range', 1, true) and x then
  local guard = 'if ' .. y .. ' < len(' .. x .. ')'
  H.ok(after:find(guard, 1, true), 'the buffer has the bounds check: ' .. guard, after)
end
vim.cmd('silent! undo')
H.eq(vim.api.nvim_buf_get_lines(buf, 0, -1, false), before, 'undo restores the buffer')

-- :FaultlineOpenPR pushes faultline/<id> to origin (a local bare repository)
-- and opens the pull request on the fake GitHub; the server asks the editor
-- to open it through window/showDocument.
local bare = need('FAULTLINE_E2E_BARE')
local shown = {}
local show = client.handlers['window/showDocument']
H.ok(type(show) == 'function', 'the plugin handles window/showDocument')
client.handlers['window/showDocument'] = function(err, result, ctx, config)
  table.insert(shown, result)
  return show(err, result, ctx, config)
end
vim.api.nvim_win_set_cursor(0, { expect.line, d.col })
vim.cmd('FaultlineOpenPR')
local url = H.wait(WAIT, 'the pull request URL', function()
  return require('faultline.commands').last_pr_url
end)
local api = need('FAULTLINE_E2E_GITHUB_URL')
local web = api:gsub('/api/v3/$', '')
H.ok(url:match('^' .. vim.pesc(web) .. '/acme/checkout/pull/%d+$'), 'pull request on the fake GitHub: ' .. url, url)
H.eq(shown, { { uri = url, external = true } }, 'the server sent window/showDocument {external = true}')
H.eq(opened_urls, { url }, 'the plugin opened the URL once')
local sha = vim.fn.system({ 'git', '--git-dir', bare, 'rev-parse', '--verify', '-q', 'refs/heads/faultline/' .. id })
H.ok(vim.v.shell_error == 0 and sha:match('^%x+'), 'the bare repository has branch faultline/' .. id, sha)
local files = vim.fn.systemlist({ 'git', '--git-dir', bare, 'diff', '--name-only', 'refs/heads/main', 'refs/heads/faultline/' .. id })
H.eq(files, { expect.file }, 'the branch changes only ' .. expect.file)

H.finish('nvim e2e')
vim.cmd('qa!')
