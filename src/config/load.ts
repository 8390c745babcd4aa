import {existsSync, readFileSync} from 'node:fs';
import {dirname, isAbsolute, resolve} from 'node:path';
import {isMap, isSeq, LineCounter, parseDocument, type Document} from 'yaml';
import {z} from 'zod';
import {datasets} from '../data/registry.js';
import {anyMetric} from '../metrics/registry.js';
import {UserError} from '../util/errors.js';
import {canonicalJson, sha256} from '../util/hash.js';
import {STAGE_NEEDS, type StageName} from '../run/stage-names.js';
import {snapshotEpochs} from '../train/schedule.js';
import {withoutExecutionKeys} from './execution.js';
import {configSchema, type Config} from './schema.js';

export interface LoadedConfig {
  config: Config;
  /** sha256 of the canonical JSON of the resolved config. */
  hash: string;
  file: string;
}

export interface LoadOptions {
  /** `key.path=value` overrides; values are parsed as YAML (numbers, booleans, lists, maps). */
  set?: string[];
  seed?: number;
  /** Directory that relative data paths (e.g. a table's file) are relative to; default: the config file's directory. */
  baseDir?: string;
}

type Path = Array<string | number>;

/** Reads, overrides, validates and resolves a config file. Every user error is one line naming file and field. */
export function loadConfig(file: string, opts: LoadOptions = {}): LoadedConfig {
  return parseConfig(readTextFile(file, 'config file', 'give the path to a YAML file, e.g. configs/tishby.yaml'), file, opts);
}

/** A text file a user named, or a UserError saying why it cannot be read (missing, a directory, no permission). */
export function readTextFile(file: string, what: string, hint: string): string {
  if (!existsSync(file)) throw new UserError(`${file}: ${what} not found (${hint})`);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: ${code === 'EISDIR' ? 'a directory, not a' : 'cannot read the'} ${what} (${code ?? (err as Error).message}; ${hint})`);
  }
}

export function parseConfig(text: string, file: string, opts: LoadOptions = {}): LoadedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, {lineCounter: lines, prettyErrors: true, uniqueKeys: true});
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    const at = pos ? `:${pos.line}:${pos.col}` : '';
    throw new UserError(`${file}${at}: YAML syntax error: ${firstLine(e.message)} (fix the YAML syntax)`);
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${file}: the config must be a YAML mapping of sections (name, seed, stages, data, model, train, metrics, report)`);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new UserError(describeIssue(parsed.error.issues[0], file, doc, lines, new Map()));
  // overrides apply to the resolved config, so `--set model.layers.0=8` edits the default list
  let resolved: Record<string, unknown> = parsed.data;
  if ((opts.set?.length ?? 0) > 0 || opts.seed !== undefined) {
    const obj = structuredClone(parsed.data) as Record<string, unknown>;
    const fromOverride = new Map<string, string>();
    for (const ov of opts.set ?? []) {
      const {path, value} = parseOverride(ov);
      checkOverridePath(path, ov);
      setPath(obj, path, value, ov);
      fromOverride.set(path.join('.'), ov);
    }
    if (opts.seed !== undefined) obj.seed = opts.seed;
    const again = configSchema.safeParse(obj);
    if (!again.success) throw new UserError(describeIssue(again.error.issues[0], file, doc, lines, fromOverride));
    resolved = again.data;
  }
  const config = resolveDataPaths(fillRegisteredDefaults(resolved as Config), opts.baseDir ?? dirname(resolve(file)));
  checkSemantics(config, file);
  return {config, hash: configHash(config), file};
}

/**
 * sha256 of the canonical JSON of a resolved config, without `checks` (they judge runs, they do
 * not make them) and the execution keys (src/config/execution.ts: they do not change a value).
 */
export function configHash(config: Config): string {
  const {checks: _checks, ...rest} = config;
  return sha256(canonicalJson(withoutExecutionKeys(rest)));
}

/** Checks that need more than one field: the snapshot schedule against the epochs, and stage order. */
function checkSemantics(config: Config, file: string): void {
  try {
    snapshotEpochs(config.train.snapshots, config.train.epochs);
  } catch (err) {
    throw new UserError(`${file}: ${(err as Error).message}`);
  }
  checkStageOrder(config.stages, new Set(), file);
}

/** Rejects a stage list whose stages need outputs that nothing will produce (`done`: stages finished earlier). */
export function checkStageOrder(list: readonly StageName[], done: Set<StageName>, file: string): void {
  const available = new Set(done);
  for (const name of list) {
    if (done.has(name)) continue;
    for (const need of STAGE_NEEDS[name]) {
      if (!available.has(need)) throw new UserError(`${file}: stages: '${name}' needs '${need}' first (add '${need}' before '${name}' in stages, or resume a run where it is done)`);
    }
    available.add(name);
  }
}

/** Dataset options and estimator parameters get their defaults from their registered schemas. */
function fillRegisteredDefaults(cfg: Config): Config {
  return {
    ...cfg,
    data: {...cfg.data, options: datasets.get(cfg.data.name).options.parse(cfg.data.options) as Record<string, unknown>},
    metrics: {
      ...cfg.metrics,
      estimators: cfg.metrics.estimators.map((e) => ({...e, params: anyMetric(e.name).params.parse(e.params) as Record<string, unknown>})),
    },
  };
}

/**
 * Relative paths in `data.options` (the files a dataset names: a table, its labels, IDX files)
 * are relative to the config file's directory, not the working directory: the resolved config
 * holds them absolute, so a run (and its resume) reads the same files from anywhere.
 */
function resolveDataPaths(cfg: Config, baseDir: string): Config {
  const files = datasets.get(cfg.data.name).files?.(cfg.data.options) ?? [];
  if (files.every((f) => isAbsolute(f.path))) return cfg;
  const options = structuredClone(cfg.data.options) as Record<string, unknown>;
  for (const f of files) {
    if (isAbsolute(f.path)) continue;
    const keys = f.field.split('.');
    let o = options;
    for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
    o[keys[keys.length - 1]] = resolve(baseDir, f.path);
  }
  return {...cfg, data: {...cfg.data, options}};
}

function firstLine(s: string): string {
  return s.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '').trim();
}

export function parseOverride(ov: string): {path: Path; value: unknown} {
  const eq = ov.indexOf('=');
  if (eq <= 0) throw new UserError(`--set ${ov}: expected key.path=value (e.g. --set train.epochs=2000)`);
  const key = ov.slice(0, eq).trim();
  const text = ov.slice(eq + 1);
  if (!/^[A-Za-z_][\w-]*(\.([A-Za-z_][\w-]*|\d+))*$/.test(key)) throw new UserError(`--set ${ov}: '${key}' is not a dotted key path (e.g. model.activation)`);
  const path: Path = key.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const vdoc = parseDocument(text);
  if (vdoc.errors.length > 0) throw new UserError(`--set ${ov}: value is not valid YAML: ${firstLine(vdoc.errors[0].message)}`);
  return {path, value: text.trim() === '' ? '' : vdoc.toJS()};
}

/** Unwraps defaults, optionals, effects and pipes to the schema that describes the value's shape. */
function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s._def.innerType;
    else if (s instanceof z.ZodEffects) s = s._def.schema;
    else if (s instanceof z.ZodPipeline) s = s._def.out;
    else return s;
  }
}

/** Fails with the allowed keys when an override path does not exist in the schema. */
function checkOverridePath(path: Path, ov: string): void {
  let s: z.ZodTypeAny = configSchema;
  const seen: Path = [];
  for (const seg of path) {
    s = unwrap(s);
    if (s instanceof z.ZodObject) {
      const shape = s.shape as Record<string, z.ZodTypeAny>;
      if (typeof seg !== 'string' || !(seg in shape)) {
        const where = seen.length ? `'${seen.join('.')}'` : 'the top level';
        throw new UserError(`--set ${ov}: unknown key '${seg}' in ${where} (allowed: ${Object.keys(shape).join(', ')})`);
      }
      s = shape[seg];
    } else if (s instanceof z.ZodArray) {
      if (typeof seg !== 'number') throw new UserError(`--set ${ov}: '${seen.join('.')}' is a list; index it with a number (e.g. ${seen.join('.')}.0)`);
      s = s.element;
    } else if (s instanceof z.ZodRecord) {
      return; // free-form block (dataset options, estimator params): checked by its registered schema
    } else {
      throw new UserError(`--set ${ov}: '${seen.join('.')}' is a single value and has no key '${seg}'`);
    }
    seen.push(seg);
  }
}

function setPath(obj: Record<string, unknown>, path: Path, value: unknown, ov: string): void {
  let cur: any = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i];
    if (cur[seg] === undefined || cur[seg] === null) cur[seg] = typeof path[i + 1] === 'number' ? [] : {};
    cur = cur[seg];
    if (typeof cur !== 'object') throw new UserError(`--set ${ov}: '${path.slice(0, i + 1).join('.')}' is not a section`);
  }
  if (Array.isArray(cur) && typeof path[path.length - 1] === 'number' && (path[path.length - 1] as number) > cur.length) {
    throw new UserError(`--set ${ov}: index ${path[path.length - 1]} is past the end of '${path.slice(0, -1).join('.')}' (length ${cur.length})`);
  }
  cur[path[path.length - 1]] = value;
}

function describeIssue(issue: z.ZodIssue, file: string, doc: Document, lines: LineCounter, fromOverride: Map<string, string>): string {
  let path = issue.path;
  let message = issue.message;
  if (issue.code === z.ZodIssueCode.unrecognized_keys) {
    path = [...issue.path, issue.keys[0]];
    message = `unknown key '${issue.keys[0]}'${allowedKeys(issue.path)}`;
  } else if (issue.code === z.ZodIssueCode.invalid_enum_value) {
    message = `'${String(issue.received)}' is not allowed (allowed: ${issue.options.join(', ')})`;
  } else if (issue.code === z.ZodIssueCode.invalid_type) {
    message = `expected ${issue.expected}, got ${issue.received}`;
  } else if (issue.code === z.ZodIssueCode.invalid_union) {
    // report the most specific branch error
    const inner = issue.unionErrors.flatMap((e) => e.issues).sort((a, b) => b.path.length - a.path.length)[0];
    if (inner) return describeIssue(inner, file, doc, lines, fromOverride);
  }
  const field = path.join('.') || '(top level)';
  const ov = [...fromOverride.entries()].find(([k]) => field === k || field.startsWith(k + '.'));
  if (ov) return `${file}: ${field}: ${message} (from --set ${ov[1]})`;
  return `${file}${position(doc, lines, path, issue.code === z.ZodIssueCode.unrecognized_keys)}: ${field}: ${message}`;
}

function allowedKeys(parent: Path): string {
  let s: z.ZodTypeAny = configSchema;
  for (const seg of parent) {
    s = unwrap(s);
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodTypeAny>)[seg as string];
    else if (s instanceof z.ZodArray) s = s.element;
    else return '';
    if (!s) return '';
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? ` (allowed: ${Object.keys(s.shape).join(', ')})` : '';
}

/** `:line:col` of the YAML node at `path` (or of its closest existing ancestor). */
function position(doc: Document, lines: LineCounter, path: Path, atKey = false): string {
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    let node: any = sub.length ? doc.getIn(sub, true) : doc.contents;
    // for a missing key report the key itself when its parent map has it
    if (n === path.length && n > 0) {
      const parent: any = n > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find((p: any) => p.key && (p.key as any).value === path[n - 1]);
        if (pair) node = atKey ? pair.key : (pair.value ?? pair.key);
      } else if (isSeq(parent)) node = parent.items[path[n - 1] as number];
    }
    if (node && node.range) {
      const {line, col} = lines.linePos(node.range[0]);
      return `:${line}:${col}`;
    }
  }
  return '';
}
