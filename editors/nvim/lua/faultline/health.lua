-- :checkhealth faultline — binary found and its version, Neovim version,
-- running servers. Works with the health API of 0.7 (require('health')
-- report_*), 0.8-0.9 (vim.health.report_*) and 0.10+ (vim.health.start/ok).

local M = {}

local function api()
  local h = vim.health or require('health')
  return {
    start = h.start or h.report_start,
    ok = h.ok or h.report_ok,
    warn = h.warn or h.report_warn,
    error = h.error or h.report_error,
    info = h.info or h.report_info,
  }
end

local INSTALL = 'go install github.com/faultline-dev/faultline/cmd/faultline@latest'

function M.check()
  local h = api()
  local fl = require('faultline')

  h.start('Neovim')
  local v = vim.version()
  local vs = string.format('%d.%d.%d', v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.7') == 1 then
    h.ok('Neovim ' .. vs .. (vim.lsp.start and ' (vim.lsp.start)' or ' (vim.lsp.start_client, 0.7 mode)'))
  else
    h.error('Neovim ' .. vs .. ': Faultline needs 0.7 or newer')
  end

  h.start('faultline binary')
  local cmd = fl.server_cmd()
  local bin = cmd[1]
  local exe = vim.fn.exepath(bin)
  if exe == '' then
    h.error(string.format('%q not found (cmd = %s)', bin, table.concat(cmd, ' ')), { 'Install it: ' .. INSTALL, "or set require('faultline').setup({ path = '/path/to/faultline' })" })
  else
    local out = vim.fn.system({ exe, 'version' })
    if vim.v.shell_error == 0 then
      h.ok(exe .. ': ' .. vim.trim(out))
    else
      h.warn(exe .. ' found, but `faultline version` failed: ' .. vim.trim(out))
    end
  end

  h.start('servers')
  local clients = fl.clients()
  if #clients == 0 then
    h.info('no faultline server running; it starts for files under a folder holding ' .. table.concat(fl.config.root_markers, ' or '))
  end
  for _, c in ipairs(clients) do
    local st = fl._state.status[c.config.root_dir]
    h.ok(string.format('client %d for %s: %s', c.id, c.config.root_dir or '?', st and fl.format_status(st) or 'no status yet'))
    for _, src in ipairs(st and type(st.sources) == 'table' and st.sources or {}) do
      if src.ok == false then
        h.warn(string.format('source %s: %s', tostring(src.name), tostring(src.error)))
      end
    end
  end
end

return M
