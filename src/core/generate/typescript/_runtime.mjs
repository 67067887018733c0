// Runtime support for the generated pipeline. It depends on nothing but node: builtins (Deno
// provides them too). Like the Python runtime it runs the steps in order, passes values in
// memory, saves every output as an artifact with sha256 and size (JSON here, with tagged forms
// for what JSON lacks), and writes run.json in the same shape, also when a step fails.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';

const TAG = '$nb2prod';
const TYPED_ARRAYS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];

export function parseCommandLine(argv, stepNames, defaults) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        only: { type: 'string' },
        from: { type: 'string' },
        param: { type: 'string', multiple: true, default: [] },
        artifacts: { type: 'string', default: 'artifacts' },
        'run-id': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    usage(error.message);
  }
  const args = parsed.values;
  if (args.help) {
    console.log(USAGE);
    process.exit(0);
  }
  for (const option of ['only', 'from']) {
    if (args[option] !== undefined && !stepNames.includes(args[option])) {
      usage('--' + option + ': unknown step ' + JSON.stringify(args[option]) + '; steps: ' + stepNames.join(', '));
    }
  }
  const params = { ...defaults };
  for (const item of args.param) {
    const at = item.indexOf('=');
    const name = at < 0 ? item : item.slice(0, at);
    if (at < 0 || !Object.hasOwn(defaults, name)) {
      usage('unknown parameter ' + JSON.stringify(name) + '; known: ' + (Object.keys(defaults).sort().join(', ') || 'none'));
    }
    params[name] = coerce(name, item.slice(at + 1), defaults[name]);
  }
  return { only: args.only, from: args.from, params, artifacts: args.artifacts, runId: args['run-id'] ?? process.env.NB2PROD_RUN_ID };
}

const USAGE = 'usage: node main.mjs [--only STEP] [--from STEP] [--param NAME=VALUE]... [--artifacts DIR] [--run-id ID]';

function usage(message) {
  console.error(USAGE + '\nerror: ' + message);
  process.exit(2);
}

/** A --param value takes the type of the parameter's default. */
function coerce(name, text, fallback) {
  if (typeof fallback === 'boolean') {
    if (['1', 'true', 'yes', 'on'].includes(text.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(text.toLowerCase())) return false;
    usage('parameter ' + name + ': expected true or false, got ' + JSON.stringify(text));
  }
  if (typeof fallback === 'string') return text;
  if (typeof fallback === 'number') {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) usage('parameter ' + name + ': expected a number, got ' + JSON.stringify(text));
    return value;
  }
  // An array or object default takes JSON of the same shape; a null default any JSON, else the text.
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    if (fallback === null) return text;
    usage('parameter ' + name + ': expected JSON ' + (Array.isArray(fallback) ? 'array' : 'object') + ', got ' + JSON.stringify(text));
  }
  if (fallback === null || jsonKind(value) === jsonKind(fallback)) return value;
  usage('parameter ' + name + ': expected JSON ' + jsonKind(fallback) + ', got ' + JSON.stringify(text));
}

function jsonKind(value) {
  return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
}

export async function runPipeline(steps, defaults, classes, argv, setSharedParameters = () => {}) {
  const args = parseCommandLine(argv, steps.map((s) => s.name), defaults);
  setSharedParameters(args.params);
  const runId = args.runId || new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z') + '-' + randomBytes(3).toString('hex');
  const runDir = join(args.artifacts, runId);
  mkdirSync(runDir, { recursive: true });
  const start = args.only ?? args.from;
  const first = start ? steps.findIndex((s) => s.name === start) : 0;
  const selected = args.only ? steps.slice(first, first + 1) : steps.slice(first);
  const record = {
    run_id: runId,
    // A copy taken now: a step may change a parameter object in place, as the notebook's cells did.
    params: structuredClone(args.params),
    status: 'running',
    started: now(),
    finished: null,
    steps: [],
    artifacts: [],
    metrics: {},
  };
  const values = new Map();
  let failed = false;
  for (const [number, step] of selected.entries()) {
    log('step ' + (number + 1) + '/' + selected.length + ' ' + step.name);
    const started = performance.now();
    const entry = { name: step.name, status: 'running', seconds: 0 };
    record.steps.push(entry);
    try {
      const inputs = {};
      for (const [name, producer] of Object.entries(step.inputs)) inputs[name] = input(values, name, producer, args.artifacts, runDir, classes);
      const params = Object.fromEntries(step.params.map((name) => [name, args.params[name]]));
      const outputs = (await step.run(inputs, params)) ?? {};
      for (const name of step.outputs) {
        values.set(step.name + '/' + name, outputs[name]);
        const artifact = save(outputs[name], runDir, step.name, name, classes);
        if (artifact) record.artifacts.push(artifact);
      }
      for (const name of step.metrics) record.metrics[name] = metric(outputs[name]);
      entry.status = 'succeeded';
    } catch (error) {
      entry.status = 'failed';
      entry.error = (error?.name ?? 'Error') + ': ' + (error?.message ?? String(error));
      console.error(error);
      failed = true;
    }
    entry.seconds = Math.round(performance.now() - started) / 1000;
    if (failed) break;
  }
  record.status = failed ? 'failed' : 'succeeded';
  record.finished = now();
  writeJson(join(runDir, 'run.json'), record);
  log('run ' + runId + ' ' + record.status + '; record: ' + join(runDir, 'run.json'));
  return failed ? 1 : 0;
}

function input(values, name, producer, artifacts, runDir, classes) {
  const key = producer + '/' + name;
  if (values.has(key)) return values.get(key);
  const path = findArtifact(artifacts, runDir, producer, name);
  if (!path) {
    throw new Error('input ' + JSON.stringify(name) + ' from step ' + JSON.stringify(producer) + ' is not in memory and no earlier run has it; run step ' + JSON.stringify(producer) + ' first');
  }
  log('loading ' + name + ' from ' + path);
  return decode(JSON.parse(readFileSync(path, 'utf8')), classes);
}

/** The newest earlier run that saved this output. */
function findArtifact(artifacts, runDir, producer, name) {
  let best;
  for (const run of readdirSync(artifacts)) {
    const path = join(artifacts, run, producer, name + '.json');
    if (join(artifacts, run) === runDir || !existsSync(path)) continue;
    const mtime = statSync(path).mtimeMs;
    if (!best || mtime > best.mtime) best = { mtime, path };
  }
  return best?.path;
}

function save(value, runDir, step, name, classes) {
  let json;
  try {
    json = JSON.stringify(encode(value, name, classes, new Set()));
  } catch (error) {
    if (!(error instanceof NotSerializable)) throw error;
    // The notebook handed it on in memory, and so does this run; only a later --only run lacks it.
    log('warning: output ' + JSON.stringify(name) + ' of step ' + JSON.stringify(step) + ' cannot be saved as JSON (' + error.message + '); it is passed in memory only');
    return undefined;
  }
  const folder = join(runDir, step);
  mkdirSync(folder, { recursive: true });
  const path = join(folder, name + '.json');
  writeFileSync(path, json + '\n');
  const bytes = readFileSync(path);
  return {
    path: relative(runDir, path).split(sep).join('/'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    step,
    name,
  };
}

class NotSerializable extends Error {}

/**
 * A value -> JSON. Plain data stays plain JSON; what JSON cannot hold (undefined, NaN, -0,
 * BigInt, Date, Map, Set, RegExp, typed arrays, instances of the notebook's own classes) is
 * wrapped in {"$nb2prod": type, ...}. Anything else fails with the path to the culprit.
 */
function encode(value, path, classes, seen) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      return { [TAG]: 'number', value: Object.is(value, -0) ? '-0' : String(value) };
    case 'undefined':
      return { [TAG]: 'undefined' };
    case 'bigint':
      return { [TAG]: 'bigint', value: value.toString() };
    case 'function':
      throw new NotSerializable(path + ' is a function');
    case 'symbol':
      throw new NotSerializable(path + ' is a symbol');
  }
  if (value === null) return null;
  if (seen.has(value)) throw new NotSerializable(path + ' refers back to itself (a circular structure)');
  seen.add(value);
  try {
    return encodeObject(value, path, classes, seen);
  } finally {
    seen.delete(value);
  }
}

function encodeObject(value, path, classes, seen) {
  if (Array.isArray(value)) return Array.from(value, (item, i) => encode(item, path + '[' + i + ']', classes, seen));
  if (value instanceof Date) return { [TAG]: 'Date', value: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (value instanceof Map) {
    return { [TAG]: 'Map', entries: Array.from(value, ([k, v], i) => [encode(k, path + '.keys()[' + i + ']', classes, seen), encode(v, path + '.get(' + describeKey(k) + ')', classes, seen)]) };
  }
  if (value instanceof Set) return { [TAG]: 'Set', values: Array.from(value, (v, i) => encode(v, path + '.values()[' + i + ']', classes, seen)) };
  if (value instanceof RegExp) return { [TAG]: 'RegExp', source: value.source, flags: value.flags };
  const typed = TYPED_ARRAYS.find((T) => value instanceof T);
  if (typed) return { [TAG]: typed.name, values: Array.from(value, (v) => (typeof v === 'bigint' ? v.toString() : v)) };
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const fields = encodeFields(value, path, classes, seen);
    return Object.hasOwn(value, TAG) ? { [TAG]: 'Object', value: fields } : fields;
  }
  const className = Object.keys(classes).find((name) => classes[name].prototype === proto);
  if (className) return { [TAG]: 'class', class: className, value: encodeFields(value, path, classes, seen) };
  const kind = value.constructor?.name || 'an object with a custom prototype';
  throw new NotSerializable(path + ' is a ' + kind + ' (only plain data, Map, Set, Date, RegExp, typed arrays and the notebook\'s own classes without #private fields can be saved)');
}

function encodeFields(value, path, classes, seen) {
  const out = {};
  for (const key of Object.keys(value)) out[key] = encode(value[key], path + '.' + key, classes, seen);
  return out;
}

function describeKey(key) {
  return typeof key === 'string' ? JSON.stringify(key) : typeof key === 'object' ? '...' : String(key);
}

function decode(json, classes) {
  if (Array.isArray(json)) return json.map((v) => decode(v, classes));
  if (json === null || typeof json !== 'object') return json;
  if (!Object.hasOwn(json, TAG)) return decodeFields(json, {}, classes);
  switch (json[TAG]) {
    case 'undefined':
      return undefined;
    case 'number':
      return Number(json.value);
    case 'bigint':
      return BigInt(json.value);
    case 'Date':
      return new Date(json.value ?? NaN);
    case 'Map':
      return new Map(json.entries.map(([k, v]) => [decode(k, classes), decode(v, classes)]));
    case 'Set':
      return new Set(json.values.map((v) => decode(v, classes)));
    case 'RegExp':
      return new RegExp(json.source, json.flags);
    case 'Object':
      return decodeFields(json.value, {}, classes);
    case 'class': {
      const cls = classes[json.class];
      if (!cls) throw new Error('artifact refers to class ' + json.class + ', which the pipeline no longer defines');
      return decodeFields(json.value, Object.create(cls.prototype), classes);
    }
    default: {
      const typed = TYPED_ARRAYS.find((T) => T.name === json[TAG]);
      if (typed) return typed.from(json.values, (v) => (typeof v === 'string' ? BigInt(v) : v));
      throw new Error('unknown artifact value type ' + JSON.stringify(json[TAG]));
    }
  }
}

function decodeFields(json, target, classes) {
  for (const key of Object.keys(json)) {
    Object.defineProperty(target, key, { value: decode(json[key], classes), enumerable: true, writable: true, configurable: true });
  }
  return target;
}

/**
 * A metric as strict JSON, the way the Python runtime writes one: JSON has no NaN or infinity
 * (strict readers would reject the whole record), so they are "nan", "inf", "-inf"; a BigInt is a
 * number while that is exact, else its digits; Maps are objects, Sets arrays, Dates ISO text.
 */
function metric(value, seen = new Set()) {
  switch (typeof value) {
    case 'number':
      if (Number.isFinite(value)) return value === 0 ? 0 : value;
      return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case 'string':
    case 'boolean':
      return value;
    case 'undefined':
      return null;
    case 'function':
    case 'symbol':
      return String(value);
  }
  if (value === null) return null;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  try {
    if (typeof value.toJSON === 'function') return metric(value.toJSON(), seen);
    if (value instanceof Map) return Object.fromEntries(Array.from(value, ([k, v]) => [String(k), metric(v, seen)]));
    if (value instanceof Set || Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value, (v) => metric(v, seen));
    return Object.fromEntries(Object.keys(value).map((k) => [k, metric(value[k], seen)]));
  } finally {
    seen.delete(value);
  }
}

function writeJson(path, data) {
  const temporary = path + '.tmp';
  writeFileSync(temporary, JSON.stringify(data, null, 2) + '\n');
  renameSync(temporary, path);
}

/** ISO 8601 with milliseconds and +00:00, as the Python runtime writes it. */
function now() {
  return new Date().toISOString().replace('Z', '+00:00');
}

function log(message) {
  process.stderr.write('[pipeline] ' + message + '\n');
}
