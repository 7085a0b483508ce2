-- The user commands of the Faultline plugin. Each one sends a contract
-- command (workspace/executeCommand faultline.*) to the server and shows the
-- result: the incident as Markdown, the quickfix list, a PR URL. Plus the
-- client-side handlers for what the server pushes (faultline/status,
-- window/showDocument, which Neovim 0.7 lacks).

local M = {}

local function fl()
  return require('faultline')
end

local function notify(msg, level)
  vim.notify('Faultline: ' .. msg, level or vim.log.levels.INFO)
end

-- URLs already opened through window/showDocument, so the openPR result does
-- not open a second browser tab.
local opened = {}

--- open_url opens a URL outside Neovim (config.open_url, else xdg-open/open).
function M.open_url(url)
  opened[url] = vim.loop.now()
  local cfg = fl().config
  if cfg.open_url then
    return cfg.open_url(url)
  end
  local opener = vim.fn.has('mac') == 1 and 'open' or 'xdg-open'
  if vim.fn.executable(opener) == 1 then
    vim.fn.jobstart({ opener, url }, { detach = true })
  end
  notify('pull request ' .. url)
end

--- handlers are the per-client LSP handlers (the root keys the status).
function M.handlers(root)
  return {
    ['faultline/status'] = function(_, result)
      fl().set_status(root, result)
    end,
    ['window/showDocument'] = function(_, result)
      if type(result) ~= 'table' or type(result.uri) ~= 'string' then
        return { success = false }
      end
      if result.external or not result.uri:match('^file:') then
        M.open_url(result.uri)
        return { success = true }
      end
      vim.schedule(function()
        vim.cmd('edit ' .. vim.fn.fnameescape(vim.uri_to_fname(result.uri)))
        if result.selection then
          local s = result.selection.start
          pcall(vim.api.nvim_win_set_cursor, 0, { s.line + 1, s.character })
        end
      end)
      return { success = true }
    end,
  }
end

--- incidents_at returns the incident ids of the faultline diagnostics on a
--- buffer line (0-based), nearest to col first.
function M.incidents_at(bufnr, lnum, col)
  local hits = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr, { lnum = lnum })) do
    if d.source == 'faultline' then
      local lsp = d.user_data and d.user_data.lsp or {}
      local id = type(lsp.data) == 'table' and lsp.data.id or d.code
      if id ~= nil and id ~= '' then
        table.insert(hits, { id = tostring(id), dist = math.abs((d.col or 0) - (col or 0)) })
      end
    end
  end
  table.sort(hits, function(a, b)
    return a.dist < b.dist
  end)
  local ids, seen = {}, {}
  for _, h in ipairs(hits) do
    if not seen[h.id] then
      seen[h.id] = true
      table.insert(ids, h.id)
    end
  end
  return ids
end

--- execute sends one contract command; cb(err, result) runs on the main loop.
function M.execute(command, arg, cb, bufnr)
  local client = fl().clients(bufnr or vim.api.nvim_get_current_buf())[1]
  if not client then
    notify('no faultline server is running (open a file under a repository, or see :checkhealth faultline)', vim.log.levels.WARN)
    return false
  end
  if arg == nil or vim.tbl_isempty(arg) then
    arg = vim.empty_dict() -- an empty Lua table would go out as a JSON array
  end
  local params = { command = command, arguments = { arg } }
  client.request('workspace/executeCommand', params, function(err, result)
    vim.schedule(function()
      if err then
        notify(command .. ': ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
        return
      end
      cb(result, client)
    end)
  end, bufnr)
  return true
end

--- qf_items converts faultline.listIncidents rows to quickfix items.
function M.qf_items(rows)
  local items = {}
  for _, r in ipairs(type(rows) == 'table' and rows or {}) do
    if type(r) == 'table' and type(r.uri) == 'string' and type(r.line) == 'number' then
      local parts = {}
      for _, x in ipairs({ r.service or false, r.env or false }) do
        if type(x) == 'string' and x ~= '' then
          table.insert(parts, x)
        end
      end
      local where = table.concat(parts, '/')
      local extra = {}
      if where ~= '' then
        table.insert(extra, where)
      end
      if type(r.count) == 'number' then
        table.insert(extra, r.count .. 'x')
      end
      local sev = r.severity
      local type_ = (sev == 1 or sev == 'error') and 'E' or (sev == 2 or sev == 'warning') and 'W' or 'I'
      table.insert(items, {
        filename = vim.uri_to_fname(r.uri),
        lnum = r.line + 1,
        col = (r.character or 0) + 1,
        text = tostring(r.message or ''):gsub('\n.*', '') .. (#extra > 0 and (' [' .. table.concat(extra, ' ') .. ']') or ''),
        type = type_,
        user_data = { id = r.id },
      })
    end
  end
  return items
end

-- choose calls cb({id, uri?, version?}) with the incident at the cursor, or one
-- the user picks (among several on the line, or from faultline.listIncidents).
-- An explicit id (the command's argument) skips both.
local function choose(cb, id)
  local bufnr = vim.api.nvim_get_current_buf()
  local here = { uri = vim.uri_from_bufnr(bufnr), version = vim.lsp.util.buf_versions[bufnr] }
  if id and id ~= '' then
    return cb(vim.tbl_extend('force', here, { id = id }))
  end
  local cur = vim.api.nvim_win_get_cursor(0)
  local ids = M.incidents_at(bufnr, cur[1] - 1, cur[2])
  if #ids == 1 then
    return cb(vim.tbl_extend('force', here, { id = ids[1] }))
  elseif #ids > 1 then
    return vim.ui.select(ids, { prompt = 'Incident' }, function(id)
      if id then
        cb(vim.tbl_extend('force', here, { id = id }))
      end
    end)
  end
  M.execute('faultline.listIncidents', {}, function(rows)
    local items = M.qf_items(rows)
    if #items == 0 then
      return notify('no incidents in this workspace')
    end
    vim.ui.select(items, {
      prompt = 'Incident',
      format_item = function(it)
        return string.format('%s:%d  %s', vim.fn.fnamemodify(it.filename, ':.'), it.lnum, it.text)
      end,
    }, function(it)
      if it then
        cb({ id = it.user_data.id, uri = vim.uri_from_fname(it.filename) })
      end
    end)
  end)
end

--- show_markdown shows an incident read-only: a floating window or a
--- scratch markdown buffer (config.incident_view).
function M.show_markdown(id, markdown)
  local lines = vim.split(markdown or '', '\n', { plain = true })
  if fl().config.incident_view == 'split' then
    local name = 'faultline://incident/' .. id
    local buf = vim.fn.bufnr(name)
    if buf == -1 then
      buf = vim.api.nvim_create_buf(false, true)
      vim.api.nvim_buf_set_name(buf, name)
    end
    vim.bo[buf].modifiable = true
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    vim.bo[buf].modifiable = false
    vim.bo[buf].buftype = 'nofile'
    vim.bo[buf].bufhidden = 'hide'
    vim.bo[buf].filetype = 'markdown'
    vim.cmd('botright split')
    vim.api.nvim_win_set_buf(0, buf)
    return buf
  end
  local buf = vim.lsp.util.open_floating_preview(lines, 'markdown', { border = 'rounded', focus_id = 'faultline-incident', max_width = 100 })
  return buf
end

function M.show_incident(id)
  choose(function(t)
    M.execute('faultline.showIncident', { id = t.id }, function(r)
      if type(r) ~= 'table' or type(r.markdown) ~= 'string' then
        return notify('the server returned no details for ' .. t.id, vim.log.levels.WARN)
      end
      M.show_markdown(r.id or t.id, r.markdown)
    end)
  end, id)
end

function M.apply_fix(id)
  choose(function(t)
    M.execute('faultline.applyFix', { id = t.id, uri = t.uri, version = t.version }, function(r)
      if type(r) == 'table' and r.applied then
        notify('applied ' .. tostring(r.title or 'fix'))
      else
        notify('the fix was not applied', vim.log.levels.WARN)
      end
    end)
  end, id)
end

function M.open_pr(id)
  choose(function(t)
    M.execute('faultline.openPR', { id = t.id }, function(r)
      local url = type(r) == 'table' and r.url
      if type(url) ~= 'string' or not url:match('^https?://') then
        return notify('no pull request was opened', vim.log.levels.WARN)
      end
      M.last_pr_url = url
      local t0 = opened[url]
      if t0 and vim.loop.now() - t0 < 60000 then
        notify('pull request ' .. url)
      else
        M.open_url(url)
      end
    end)
  end, id)
end

function M.refresh()
  M.execute('faultline.refresh', {}, function(r)
    local n = type(r) == 'table' and r.incidents
    notify(type(n) == 'number' and (n .. (n == 1 and ' incident' or ' incidents')) or 'refreshed')
  end)
end

--- incidents fills the quickfix list with every incident and opens it.
function M.incidents()
  M.execute('faultline.listIncidents', {}, function(rows)
    local items = M.qf_items(rows)
    vim.fn.setqflist({}, ' ', { title = 'Faultline incidents', items = items })
    if #items == 0 then
      return notify('no incidents in this workspace')
    end
    vim.cmd('copen')
  end)
end

return M
