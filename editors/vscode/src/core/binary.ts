// Binary resolution for `faultline serve`, kept free of the vscode module so
// it can be unit-tested with node --test.

import * as path from 'node:path';

/** The line a user runs to install the server when it cannot be found. */
export const INSTALL_LINE = 'go install github.com/faultline-dev/faultline/cmd/faultline@latest';

export type Resolution =
  | { ok: true; path: string }
  | { ok: false; message: string };

/** What resolveBinary needs from the machine; injected so tests use no real PATH. */
export interface Host {
  platform: string; // process.platform
  env: Record<string, string | undefined>;
  isExecutable(file: string): boolean;
  homedir: string;
}

/**
 * resolveBinary finds the faultline executable: the `faultline.path` setting
 * when set (with ~ expanded, relative paths taken from the workspace root),
 * else `faultline` on PATH, else the Go install locations ($GOBIN,
 * $GOPATH/bin, ~/go/bin) because `go install` puts it there and VS Code
 * started from a desktop launcher often lacks them on PATH.
 * The failure message always carries the install line.
 */
export function resolveBinary(configured: string, host: Host, workspaceRoot?: string): Resolution {
  const exe = host.platform === 'win32' ? 'faultline.exe' : 'faultline';
  const setting = configured.trim();
  if (setting !== '') {
    let p = setting;
    if (p === '~' || p.startsWith('~/')) p = path.join(host.homedir, p.slice(1));
    else if (!path.isAbsolute(p) && workspaceRoot) p = path.join(workspaceRoot, p);
    if (host.isExecutable(p)) return { ok: true, path: p };
    return {
      ok: false,
      message: `Faultline: the binary set in "faultline.path" (${setting}) was not found or is not executable. Fix the setting, or install the server with: ${INSTALL_LINE}`,
    };
  }
  const sep = host.platform === 'win32' ? ';' : ':';
  const dirs = (host.env.PATH ?? host.env.Path ?? '').split(sep).filter((d) => d !== '');
  if (host.env.GOBIN) dirs.push(host.env.GOBIN);
  for (const gp of (host.env.GOPATH ?? '').split(sep).filter((d) => d !== '')) dirs.push(path.join(gp, 'bin'));
  dirs.push(path.join(host.homedir, 'go', 'bin'));
  for (const dir of dirs) {
    const candidate = path.join(dir, exe);
    if (host.isExecutable(candidate)) return { ok: true, path: candidate };
  }
  return {
    ok: false,
    message: `Faultline: the \`faultline\` server was not found on PATH. Install it with: ${INSTALL_LINE} (or set "faultline.path").`,
  };
}
