// Mapping of the extension's settings to what the server receives: the
// command line of `faultline serve`, initializationOptions, and the answer to
// workspace/configuration for section "faultline". Pure: settings come in
// through a getter so tests need no vscode module.
//
// The server merges what we send over .faultline.yaml with the same keys
// (config.Config in Go: sources, poll_interval, severity, llm) and rejects
// unknown keys, and lists replace rather than append. So only the settings a
// user set explicitly are sent; an untouched setting never hides the file.

/** The client-side view of the "faultline" configuration section. Optional
 * fields are undefined when the user left the setting at its default. */
export interface Settings {
  path: string;
  extraArgs: string[];
  sources?: Source[];
  pollInterval?: string;
  severity: { new?: Severity; recurring?: Severity };
  llm: { enabled?: boolean; provider?: Provider };
}

export type Severity = 'error' | 'warning' | 'information' | 'hint';
export type Provider = 'openai' | 'anthropic' | 'ollama';

/** One telemetry source as .faultline.yaml spells it (file sources use path). */
export interface Source {
  kind: string;
  path?: string;
  url?: string;
  selector?: string;
  labels?: Record<string, string>;
  org_id?: string;
}

/** The override object the server receives as section "faultline". */
export interface ServerConfig {
  sources?: Source[];
  poll_interval?: string;
  severity?: { new?: Severity; recurring?: Severity };
  llm?: { provider?: Provider; send_code: boolean };
}

const severities: readonly string[] = ['error', 'warning', 'information', 'hint'];
const providers: readonly string[] = ['openai', 'anthropic', 'ollama'];

/** Reads a dotted key ("severity.new") of section "faultline"; undefined when
 * the user did not set it (VS Code's inspect(): no global/workspace/folder value). */
export type Getter = (key: string) => unknown;

function oneOf<T extends string>(v: unknown, allowed: readonly string[]): T | undefined {
  return typeof v === 'string' && allowed.includes(v) ? (v as T) : undefined;
}

/**
 * parseSource accepts the two spellings a user may write in settings:
 * "KIND:URL" as on the command line (`loki:http://127.0.0.1:3100`,
 * `file:logs/prod.jsonl`) or an object as in .faultline.yaml. Anything else
 * yields undefined and is dropped, so a typo never reaches the server.
 */
export function parseSource(v: unknown): Source | undefined {
  if (typeof v === 'string') {
    const i = v.indexOf(':');
    if (i <= 0 || i === v.length - 1) return undefined;
    const kind = v.slice(0, i).trim();
    const rest = v.slice(i + 1).trim();
    return kind === 'file' ? { kind, path: rest } : { kind, url: rest };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.kind !== 'string' || o.kind === '') return undefined;
  const s: Source = { kind: o.kind };
  for (const k of ['path', 'url', 'selector', 'org_id'] as const) {
    if (typeof o[k] === 'string' && o[k] !== '') s[k] = o[k] as string;
  }
  if (o.labels && typeof o.labels === 'object' && !Array.isArray(o.labels)) {
    const labels = Object.entries(o.labels as Record<string, unknown>).filter(([, x]) => typeof x === 'string');
    if (labels.length > 0) s.labels = Object.fromEntries(labels) as Record<string, string>;
  }
  if (s.path === undefined && s.url === undefined) return undefined;
  return s;
}

/** readSettings normalises raw setting values; invalid values count as unset. */
export function readSettings(get: Getter): Settings {
  const extra = get('extraArgs');
  const sources = get('sources');
  const poll = get('pollInterval');
  const enabled = get('llm.enabled');
  return {
    path: typeof get('path') === 'string' ? (get('path') as string) : '',
    extraArgs: Array.isArray(extra) ? extra.filter((a): a is string => typeof a === 'string') : [],
    sources: Array.isArray(sources) ? sources.map(parseSource).filter((s): s is Source => s !== undefined) : undefined,
    pollInterval: typeof poll === 'string' && /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/.test(poll) ? poll : undefined,
    severity: { new: oneOf(get('severity.new'), severities), recurring: oneOf(get('severity.recurring'), severities) },
    llm: { enabled: typeof enabled === 'boolean' ? enabled : undefined, provider: oneOf(get('llm.provider'), providers) },
  };
}

/** serverArgs is the argument list after the binary: `serve` then the user's extra arguments. */
export function serverArgs(s: Settings): string[] {
  return ['serve', ...s.extraArgs];
}

/**
 * toServerConfig builds the override object: only what the user set, in the
 * server's key names. The LLM gets workspace code only when llm.enabled is
 * true; with it false (the default) no provider is named at all.
 */
export function toServerConfig(s: Settings): ServerConfig {
  const out: ServerConfig = {};
  if (s.sources !== undefined) out.sources = s.sources.map((x) => ({ ...x }));
  if (s.pollInterval !== undefined) out.poll_interval = s.pollInterval;
  if (s.severity.new !== undefined || s.severity.recurring !== undefined) {
    out.severity = {};
    if (s.severity.new !== undefined) out.severity.new = s.severity.new;
    if (s.severity.recurring !== undefined) out.severity.recurring = s.severity.recurring;
  }
  if (s.llm.enabled !== undefined || s.llm.provider !== undefined) {
    out.llm = { send_code: s.llm.enabled === true };
    if (s.llm.enabled === true && s.llm.provider !== undefined) out.llm.provider = s.llm.provider;
  }
  return out;
}

/** isOurSection tells whether a configuration request item concerns faultline. */
export function isOurSection(section: string | undefined): boolean {
  return section === 'faultline' || (section ?? '').startsWith('faultline.');
}

/**
 * configurationResponse answers one workspace/configuration item for our
 * section (or a key inside it, in the server's naming); null when absent.
 */
export function configurationResponse(section: string | undefined, s: Settings): unknown {
  if (!isOurSection(section)) return null;
  let v: unknown = toServerConfig(s);
  for (const key of (section as string).split('.').slice(1)) {
    if (v === null || typeof v !== 'object') return null;
    v = (v as Record<string, unknown>)[key];
  }
  return v === undefined ? null : v;
}

/** needsRestart tells whether a settings change only takes effect with a new server process. */
export function needsRestart(before: Settings, after: Settings): boolean {
  return before.path !== after.path || JSON.stringify(before.extraArgs) !== JSON.stringify(after.extraArgs);
}
