-- Tiny test harness for headless Neovim: checks count, failures raise so the
-- runner's pcall turns them into `cq` (see run.sh).
local H = { passed = 0 }

local here = debug.getinfo(1, 'S').source:sub(2)
H.plugin_dir = vim.fn.fnamemodify(here, ':p:h:h')

function H.load_plugin()
  vim.opt.runtimepath:prepend(H.plugin_dir)
  vim.cmd('runtime! plugin/faultline.lua') -- -u NONE loads no plugins by itself
end

function H.ok(cond, what, detail)
  if not cond then
    error(string.format('FAIL %s%s', what, detail and ('\n' .. detail) or ''), 0)
  end
  H.passed = H.passed + 1
  io.stdout:write('ok - ' .. what .. '\n')
end

function H.eq(got, want, what)
  H.ok(vim.deep_equal(got, want), what, 'got:  ' .. vim.inspect(got) .. '\nwant: ' .. vim.inspect(want))
end

--- wait polls pred (every 50 ms) until it returns a truthy value; it fails
--- with what after ms.
function H.wait(ms, what, pred)
  local value
  local ok = vim.wait(ms, function()
    value = pred()
    return value ~= nil and value ~= false
  end, 50)
  if not ok then
    error('FAIL timed out after ' .. ms .. ' ms waiting for ' .. what, 0)
  end
  return value
end

function H.finish(name)
  io.stdout:write(string.format('%s: %d passed, 0 failed\n', name, H.passed))
  io.stdout:flush()
end

return H
