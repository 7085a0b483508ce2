-- Faultline for Neovim: starts `faultline serve` through the built-in LSP
-- client for files under a Faultline root, and keeps a status string from the
-- server's `faultline/status` notification. All intelligence is in the server;
-- this module only starts it and routes its results (see commands.lua).
--
-- Works on Neovim 0.7 (vim.lsp.start_client + buf_attach_client) and uses
-- vim.lsp.start on 0.8+.

local M = {}

local defaults = {
  -- Command that starts the server. nil: { path, 'serve', unpack(args) }.
  cmd = nil,
  -- The binary when cmd is nil: 'faultline' on PATH.
  path = 'faultline',
  -- Extra arguments after `serve`, e.g. { '--logs', 'prod.jsonl' }.
  args = {},
  -- Files whose nearest ancestor holds one of these are attached to the server.
  root_markers = { '.faultline.yaml', '.git' },
  -- Filetypes to attach; nil attaches every file under a root.
  filetypes = nil,
  -- Sent as initializationOptions and as workspace/configuration section
  -- "faultline": the keys of .faultline.yaml (sources, poll_interval,
  -- severity = { new, recurring }, llm = { provider, send_code }, ...).
  settings = {},
  -- Where :FaultlineShowIncident shows the Markdown: 'float' or 'split'.
  incident_view = 'float',
  -- How a pull-request URL is opened; nil uses xdg-open / open.
  open_url = nil,
  -- Passed to the LSP client.
  on_attach = nil,
  capabilities = nil,
  autostart = true,
}

M.config = vim.deepcopy(defaults)

-- Per-root state: client id and the last faultline/status payload.
local state = { clients = {}, status = {}, augroup = nil }
M._state = state

local uv = vim.loop

--- find_root returns the nearest ancestor directory of path (a file) holding
--- one of the markers, or nil.
function M.find_root(path, markers)
  markers = markers or M.config.root_markers
  if path == nil or path == '' then
    return nil
  end
  local dir = vim.fn.fnamemodify(path, ':p:h')
  while dir and dir ~= '' do
    for _, m in ipairs(markers) do
      if uv.fs_stat(dir .. '/' .. m) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return nil
    end
    dir = parent
  end
  return nil
end

--- server_cmd builds the command line that starts the server.
function M.server_cmd(cfg)
  cfg = cfg or M.config
  if cfg.cmd then
    return cfg.cmd
  end
  local cmd = { cfg.path or 'faultline', 'serve' }
  for _, a in ipairs(cfg.args or {}) do
    table.insert(cmd, a)
  end
  return cmd
end

-- An empty Lua table encodes as a JSON array; the server wants an object or nothing.
local function settings_or_nil(s)
  if s == nil or vim.tbl_isempty(s) then
    return nil
  end
  return s
end

local function capabilities()
  local caps = M.config.capabilities or vim.lsp.protocol.make_client_capabilities()
  caps = vim.deepcopy(caps)
  caps.window = caps.window or {}
  caps.window.showDocument = { support = true }
  return caps
end

--- client_config is the vim.lsp client configuration for one root.
function M.client_config(root)
  local cfg = M.config
  local handlers = require('faultline.commands').handlers(root)
  return {
    name = 'faultline',
    cmd = M.server_cmd(cfg),
    cmd_cwd = root,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    init_options = settings_or_nil(cfg.settings),
    settings = { faultline = settings_or_nil(cfg.settings) },
    capabilities = capabilities(),
    handlers = handlers,
    on_attach = cfg.on_attach,
    on_exit = function()
      state.status[root] = nil
      state.clients[root] = nil
    end,
    flags = { debounce_text_changes = 150 },
  }
end

local function wanted(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or name:match('^%a[%w+.-]*://') then
    return nil
  end
  local fts = M.config.filetypes
  if fts and not vim.tbl_contains(fts, vim.bo[bufnr].filetype) then
    return nil
  end
  return M.find_root(name)
end

--- attach starts (or reuses) the server for the buffer's root and attaches
--- the buffer. Returns the client id, or nil when the buffer is not under a root.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local root = wanted(bufnr)
  if not root then
    return nil
  end
  if vim.lsp.start then
    local id = vim.lsp.start(M.client_config(root), { bufnr = bufnr })
    state.clients[root] = id
    return id
  end
  local id = state.clients[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    id = vim.lsp.start_client(M.client_config(root))
    if not id then
      vim.notify('Faultline: could not start ' .. table.concat(M.server_cmd(), ' ') .. ' (see :checkhealth faultline)', vim.log.levels.ERROR)
      return nil
    end
    state.clients[root] = id
  end
  if not vim.lsp.buf_is_attached(bufnr, id) then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- clients returns the running faultline clients, those attached to bufnr
--- first when bufnr is given.
function M.clients(bufnr)
  local all
  if vim.lsp.get_clients then
    all = vim.lsp.get_clients({ name = 'faultline' })
  else
    all = vim.tbl_filter(function(c)
      return c.name == 'faultline'
    end, vim.lsp.get_active_clients())
  end
  if bufnr then
    table.sort(all, function(a, b)
      local aa = vim.lsp.buf_is_attached(bufnr, a.id) and 0 or 1
      local bb = vim.lsp.buf_is_attached(bufnr, b.id) and 0 or 1
      if aa ~= bb then
        return aa < bb
      end
      return a.id < b.id
    end)
  end
  return all
end

--- set_status records a faultline/status payload for a root (ignoring
--- malformed ones) and fires `User FaultlineStatus` for statusline plugins.
function M.set_status(root, payload)
  if type(payload) ~= 'table' or type(payload.incidents) ~= 'number' then
    return
  end
  state.status[root] = payload
  vim.schedule(function()
    pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'FaultlineStatus', modeline = false })
  end)
end

--- format_status renders one status payload for a statusline.
function M.format_status(st)
  if type(st) ~= 'table' or type(st.incidents) ~= 'number' then
    return ''
  end
  local n = math.max(0, math.floor(st.incidents))
  local s = string.format('Faultline %d %s', n, n == 1 and 'incident' or 'incidents')
  if st.stale == true then
    s = s .. ' (stale)'
  end
  local failing = {}
  for _, src in ipairs(type(st.sources) == 'table' and st.sources or {}) do
    if type(src) == 'table' and src.ok == false and type(src.name) == 'string' then
      table.insert(failing, src.name)
    end
  end
  if #failing > 0 then
    s = s .. ' ✗ ' .. table.concat(failing, ', ')
  end
  return s
end

--- status is the statusline string for the current buffer's root ('' when
--- no faultline server has reported yet), e.g. "Faultline 3 incidents (stale)".
function M.status()
  local root = wanted(vim.api.nvim_get_current_buf())
  local st = root and state.status[root]
  if not st then
    for _, s in pairs(state.status) do
      st = s
      break
    end
  end
  return M.format_status(st)
end

--- setup merges options and, unless autostart is false, attaches every
--- buffer under a root (those already open included).
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  if opts and opts.settings then
    M.config.settings = opts.settings -- lists inside must not be merged with defaults
  end
  if state.augroup then
    vim.api.nvim_del_augroup_by_id(state.augroup)
    state.augroup = nil
  end
  if not M.config.autostart then
    return
  end
  state.augroup = vim.api.nvim_create_augroup('faultline', { clear = true })
  vim.api.nvim_create_autocmd({ 'BufReadPost', 'FileType' }, {
    group = state.augroup,
    callback = function(ev)
      M.attach(ev.buf)
    end,
  })
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) then
      M.attach(b)
    end
  end
end

return M
