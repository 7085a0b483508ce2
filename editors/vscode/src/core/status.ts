// Status bar text from the server's `faultline/status` notification. Pure.

/** The payload of the `faultline/status` notification (lsp-contract). */
export interface Status {
  incidents: number;
  stale: boolean;
  message?: string;
  sources?: { name: string; ok: boolean; error?: string }[];
}

export type ServerState = 'starting' | 'running' | 'stopped' | 'missing';

/** What the status bar item shows. `level` picks the background colour. */
export interface StatusView {
  text: string;
  tooltip: string;
  level: 'ok' | 'warning' | 'error';
}

/** isStatus checks an untrusted notification payload before it is shown. */
export function isStatus(v: unknown): v is Status {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  if (typeof o.incidents !== 'number' || !Number.isFinite(o.incidents) || typeof o.stale !== 'boolean') return false;
  if (o.sources !== undefined && !Array.isArray(o.sources)) return false;
  return true;
}

/**
 * statusView renders the status bar item: the incident count, a stale marker
 * when the last poll failed (the shown incidents are the last known ones),
 * and which sources are failing. The tooltip lists every source's health.
 */
export function statusView(state: ServerState, status?: Status): StatusView {
  switch (state) {
    case 'missing':
      return { text: '$(error) Faultline', tooltip: 'Faultline server not found; click for details.', level: 'error' };
    case 'stopped':
      return { text: '$(debug-disconnect) Faultline', tooltip: 'Faultline server stopped; click to show its output.', level: 'error' };
    case 'starting':
      return { text: '$(sync~spin) Faultline', tooltip: 'Faultline server starting…', level: 'ok' };
  }
  if (status === undefined) {
    return { text: '$(sync~spin) Faultline', tooltip: 'Faultline: waiting for the first poll…', level: 'ok' };
  }
  const sources = (status.sources ?? []).filter((s) => s && typeof s.name === 'string');
  const failing = sources.filter((s) => !s.ok);
  const n = Math.max(0, Math.trunc(status.incidents));
  const icon = failing.length > 0 ? '$(warning)' : n > 0 ? '$(bug)' : '$(check)';
  let text = `${icon} ${n} ${n === 1 ? 'incident' : 'incidents'}`;
  if (status.stale) text += ' (stale)';
  const lines: string[] = [`Faultline: ${n} production ${n === 1 ? 'incident' : 'incidents'} in this workspace`];
  if (status.stale) lines.push('Stale: the last poll failed; showing the last known incidents.');
  if (status.message) lines.push(status.message);
  for (const s of sources) lines.push(s.ok ? `✓ ${s.name}` : `✗ ${s.name}: ${s.error ?? 'failing'}`);
  lines.push('Click to refresh.');
  const level = failing.length > 0 || status.stale ? 'warning' : 'ok';
  return { text, tooltip: lines.join('\n'), level };
}
