// Incident selection and command plumbing shared by the palette commands and
// the code-lens middleware. Pure: diagnostics come in as plain objects.

/** The executeCommand commands of the lsp-contract. */
export const ServerCommand = {
  showIncident: 'faultline.showIncident',
  listIncidents: 'faultline.listIncidents',
  refresh: 'faultline.refresh',
  applyFix: 'faultline.applyFix',
  openPR: 'faultline.openPR',
  explainFrame: 'faultline.explainFrame',
} as const;

/** URI scheme of the read-only incident view. */
export const INCIDENT_SCHEME = 'faultline-incident';

/** The fields of a vscode.Diagnostic that we read. */
export interface DiagnosticLike {
  source?: string;
  code?: string | number | { value: string | number };
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  message: string;
  data?: unknown;
}

/** One row of faultline.listIncidents (0-based positions). */
export interface IncidentRow {
  id: string;
  uri: string;
  line: number;
  character: number;
  endCharacter?: number;
  message: string;
  severity?: number | string;
  service?: string;
  env?: string;
  count?: number;
}

/** incidentId reads the incident id of a faultline diagnostic: data.id, else the code. */
export function incidentId(d: DiagnosticLike): string | undefined {
  if (d.source !== 'faultline') return undefined;
  const data = d.data as { id?: unknown } | undefined;
  if (data && typeof data.id === 'string' && data.id !== '') return data.id;
  const code = typeof d.code === 'object' && d.code !== null ? d.code.value : d.code;
  if (code === undefined || code === '') return undefined;
  return String(code);
}

/**
 * incidentsAt returns the incident ids whose diagnostic covers the given
 * line (the cursor's), closest to the cursor's column first, without
 * duplicates. Several incidents can sit on one statement.
 */
export function incidentsAt(diags: readonly DiagnosticLike[], line: number, character = 0): string[] {
  const hits = diags
    .filter((d) => d.range.start.line <= line && line <= d.range.end.line)
    .map((d) => ({ id: incidentId(d), dist: Math.abs(d.range.start.character - character) }))
    .filter((h): h is { id: string; dist: number } => h.id !== undefined)
    .sort((a, b) => a.dist - b.dist);
  return [...new Set(hits.map((h) => h.id))];
}

/** isIncidentRows validates an untrusted faultline.listIncidents result. */
export function isIncidentRows(v: unknown): v is IncidentRow[] {
  return (
    Array.isArray(v) &&
    v.every(
      (r) =>
        r !== null &&
        typeof r === 'object' &&
        typeof r.id === 'string' &&
        typeof r.uri === 'string' &&
        typeof r.line === 'number' &&
        typeof r.message === 'string',
    )
  );
}

/** pickItems turns incident rows into quick-pick entries, most frequent first. */
export function pickItems(rows: readonly IncidentRow[], relative: (uri: string) => string): { label: string; description: string; detail: string; id: string }[] {
  return [...rows]
    .sort((a, b) => (b.count ?? 0) - (a.count ?? 0) || a.id.localeCompare(b.id))
    .map((r) => ({
      label: r.message.split('\n')[0],
      description: [r.service, r.env].filter(Boolean).join('/') + (r.count ? ` · ${r.count}x` : ''),
      detail: `${relative(r.uri)}:${r.line + 1}`,
      id: r.id,
    }));
}

/** incidentDocPath is the path part of the read-only view's URI for an incident. */
export function incidentDocPath(id: string): string {
  return `/${encodeURIComponent(id)}.md`;
}

/** incidentIdFromPath inverts incidentDocPath; undefined for a foreign path. */
export function incidentIdFromPath(p: string): string | undefined {
  const m = /^\/(.+)\.md$/.exec(p);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

/** commandArgs builds the one-element arguments array the contract expects. */
export function commandArgs(command: string, fields: Record<string, unknown> = {}): unknown[] {
  const arg: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) arg[k] = v;
  return [arg];
}

/** What the extension does with a command's result, decided without vscode. */
export type Outcome =
  | { kind: 'showMarkdown'; id: string; markdown: string }
  | { kind: 'openUrl'; url: string }
  | { kind: 'info'; message: string }
  | { kind: 'warn'; message: string }
  | { kind: 'none' };

/** outcome maps a server command's result to what the user should see. */
export function outcome(command: string, result: unknown): Outcome {
  const r = (result ?? {}) as Record<string, unknown>;
  switch (command) {
    case ServerCommand.showIncident:
      if (typeof r.markdown === 'string' && typeof r.id === 'string') return { kind: 'showMarkdown', id: r.id, markdown: r.markdown };
      return { kind: 'warn', message: 'Faultline: the server returned no details for this incident.' };
    case ServerCommand.openPR:
      if (typeof r.url === 'string' && /^https?:\/\//.test(r.url)) return { kind: 'openUrl', url: r.url };
      return { kind: 'warn', message: 'Faultline: the server opened no pull request.' };
    case ServerCommand.applyFix:
      if (r.applied === true) return { kind: 'info', message: `Faultline: applied "${String(r.title ?? 'fix')}".` };
      return { kind: 'warn', message: `Faultline: the fix was not applied${r.title ? ` ("${String(r.title)}")` : ''}.` };
    case ServerCommand.refresh:
      if (typeof r.incidents === 'number') return { kind: 'info', message: `Faultline: ${r.incidents} ${r.incidents === 1 ? 'incident' : 'incidents'}.` };
      return { kind: 'none' };
    default:
      return { kind: 'none' };
  }
}

/**
 * RecentUrls remembers URLs the server already had opened through
 * window/showDocument, so the openPR result does not open a second tab.
 */
export class RecentUrls {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs = 60_000) {}

  /** mark records that url was opened at time now (ms). */
  mark(url: string, now: number): void {
    this.seen.set(url, now);
  }

  /** wasOpened tells whether url was opened within the window before now. */
  wasOpened(url: string, now: number): boolean {
    for (const [u, t] of this.seen) if (now - t > this.windowMs) this.seen.delete(u);
    return this.seen.has(url);
  }
}
