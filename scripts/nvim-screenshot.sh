#!/usr/bin/env bash
# Captures real Neovim (tmux capture-pane) showing the demo's incidents and
# renders it to docs/nvim-demo.png (needs neovim, tmux, imagemagick).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'tmux kill-session -t faultline-shot 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/faultline" "$repo/cmd/faultline"
"$tmp/faultline" demo --out "$tmp/demo" >"$tmp/demo.json"
field() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$tmp/demo.json" "$1"; }
cat >"$tmp/init.lua" <<LUA
vim.opt.rtp:append('$repo/editors/nvim')
vim.o.number = true
vim.o.signcolumn = 'yes'
vim.o.laststatus = 2
vim.o.statusline = '%f %=%{luaeval("require(\'faultline\').status()")} '
require('faultline').setup({ cmd = { '$tmp/faultline', 'serve', '--logs', '$(field logs)', '--deploys', '$(field deploys)' } })
vim.diagnostic.config({ virtual_text = { prefix = '●' } })
LUA
tmux new-session -d -s faultline-shot -x 130 -y 34 "cd $(field root) && nvim -u $tmp/init.lua +15 cart/total.go"
sleep 6
tmux send-keys -t faultline-shot ':FaultlineIncidents' Enter; sleep 2
tmux send-keys -t faultline-shot ':wincmd k' Enter; sleep 1
tmux capture-pane -t faultline-shot -p >"$repo/docs/nvim-demo.txt"
python3 - "$repo/docs/nvim-demo.txt" "$repo/docs/nvim-demo.png" <<'PY'
import subprocess, sys
lines = open(sys.argv[1]).read().rstrip('\n').split('\n')
args = ['convert', '-size', '%dx%d' % (1060, 24 + 17 * len(lines)), 'xc:#1e1e2e', '-font', 'DejaVu-Sans-Mono', '-pointsize', '13']
for i, l in enumerate(lines):
    if not l.strip():
        continue
    color = '#f38ba8' if ('●' in l or ' error|' in l) else '#585b70' if l.startswith('~') else '#cdd6f4'
    args += ['-fill', color, '-annotate', '+12+%d' % (20 + 17 * i), l.replace('%', '%%')]
subprocess.run(args + [sys.argv[2]], check=True)
PY
