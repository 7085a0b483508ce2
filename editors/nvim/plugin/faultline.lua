-- Faultline: user commands and <Plug> mappings. Kept tiny: the plugin's
-- modules load on first use; the server starts only after
-- require('faultline').setup() (see :help faultline).
if vim.g.loaded_faultline then
  return
end
vim.g.loaded_faultline = 1

local commands = {
  FaultlineShowIncident = { 'show_incident', 'Show the production incident at the cursor' },
  FaultlineApplyFix = { 'apply_fix', "Apply the incident's preferred fix" },
  FaultlineOpenPR = { 'open_pr', 'Open a pull request with the fix' },
  FaultlineRefresh = { 'refresh', 'Poll the telemetry sources now' },
  FaultlineIncidents = { 'incidents', 'All incidents to the quickfix list' },
}

-- The incident commands take an optional incident id (default: at the cursor).
local takes_id = { FaultlineShowIncident = true, FaultlineApplyFix = true, FaultlineOpenPR = true }

for name, spec in pairs(commands) do
  vim.api.nvim_create_user_command(name, function(o)
    require('faultline.commands')[spec[1]](o.args ~= '' and o.args or nil)
  end, { desc = spec[2], nargs = takes_id[name] and '?' or 0 })
end

vim.api.nvim_create_user_command('FaultlineStart', function()
  require('faultline').attach(0)
end, { desc = 'Start the Faultline server for this buffer' })

local plugs = {
  ['<Plug>(faultline-show-incident)'] = 'FaultlineShowIncident',
  ['<Plug>(faultline-apply-fix)'] = 'FaultlineApplyFix',
  ['<Plug>(faultline-open-pr)'] = 'FaultlineOpenPR',
  ['<Plug>(faultline-refresh)'] = 'FaultlineRefresh',
  ['<Plug>(faultline-incidents)'] = 'FaultlineIncidents',
}
for lhs, cmd in pairs(plugs) do
  vim.keymap.set('n', lhs, '<Cmd>' .. cmd .. '<CR>', { silent = true, desc = cmd })
end
