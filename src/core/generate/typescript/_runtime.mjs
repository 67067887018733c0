// Runtime support for the generated pipeline. It depends on nothing but node: builtins (Deno
// provides them too). Like the Python runtime it runs the steps in order, passes values in
// memory, saves every output as an artifact with sha256 and size (JSON here, with tagged forms
// for what JSON lacks), and writes run.json in the same shape, also when a step fails.
//
// A launcher (an orchestrator, a workflow engine) can run each step in its own process:
//   node main.mjs --only STEP --run-id ID [--input NAME=PATH]... [--output NAME=PATH]...
//                 [--state-in DIR] [--state-out DIR] [--metrics-out FILE]
// Every step writes <artifacts>/<run>/<step>/.step.json; a step run alone then merges those
// records into <artifacts>/<run>/run.json.
//
// A step's outputs are copied when it ends and written and hashed by a worker thread while the
// next step runs: a step computes synchronously, so plain async writes would wait for it. The run
// ends when every write has, and a failed write fails it.
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const TAG = '$nb2prod';
const TYPED_ARRAYS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];

/** Ids launchers make (UUIDs, Argo and Airflow names) fit; anything that could leave the artifacts directory does not. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Options that describe where one step's files go: only a step run alone has them. */
const STEP_OPTIONS = ['input', 'output', 'state-in', 'state-out', 'metrics-out'];

const STEP_RECORD = '.step.json';

export function parseCommandLine(argv, steps, defaults) {
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
        objects: { type: 'string' },
        input: { type: 'string', multiple: true, default: [] },
        output: { type: 'string', multiple: true, default: [] },
        'state-in': { type: 'string' },
        'state-out': { type: 'string' },
        'metrics-out': { type: 'string' },
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
  const stepNames = steps.map((s) => s.name);
  for (const option of ['only', 'from']) {
    if (args[option] !== undefined && !stepNames.includes(args[option])) {
      usage('--' + option + ': unknown step ' + JSON.stringify(args[option]) + '; steps: ' + stepNames.join(', '));
    }
  }
  const step = steps.find((s) => s.name === args.only);
  for (const option of STEP_OPTIONS) {
    const given = args[option];
    if (!step && given !== undefined && given.length !== 0) usage('--' + option + ' needs --only STEP: it names files of one step');
    if (typeof given === 'string' && given === '') usage('--' + option + ': empty path');
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
  // An empty NB2PROD_RUN_ID means none; an empty --run-id is a mistake.
  const runId = args['run-id'] ?? (process.env.NB2PROD_RUN_ID || undefined);
  if (args.objects === '') usage('--objects: empty path');
  if (runId !== undefined && !RUN_ID.test(runId)) {
    usage('run id ' + JSON.stringify(runId) + ' is not allowed: letters, digits, ".", "_" and "-", starting with a letter or digit, at most 128');
  }
  return {
    only: args.only,
    from: args.from,
    params,
    artifacts: args.artifacts,
    runId,
    objects: args.objects,
    inputs: namedPaths('input', args.input, step ? Object.keys(step.inputs) : []),
    outputs: namedPaths('output', args.output, step?.outputs ?? []),
    stateIn: args['state-in'],
    stateOut: args['state-out'],
    metricsOut: args['metrics-out'],
  };
}

/** `--input NAME=PATH`s as a Map; NAME must be one the step has, once. */
function namedPaths(option, items, known) {
  const paths = new Map();
  for (const item of items) {
    const at = item.indexOf('=');
    const name = item.slice(0, at);
    if (at < 1 || at === item.length - 1) usage('--' + option + ' ' + JSON.stringify(item) + ': expected NAME=PATH');
    if (!known.includes(name)) {
      usage('--' + option + ' ' + JSON.stringify(name) + ': the step has no such ' + option + '; its ' + option + 's: ' + (known.join(', ') || 'none'));
    }
    if (paths.has(name)) usage('--' + option + ' ' + JSON.stringify(name) + ' given twice');
    paths.set(name, item.slice(at + 1));
  }
  return paths;
}

const USAGE = [
  'usage: node main.mjs [--only STEP] [--from STEP] [--param NAME=VALUE]... [--artifacts DIR] [--run-id ID] [--objects DIR]',
  '       node main.mjs --only STEP [--input NAME=PATH]... [--output NAME=PATH]... [--state-in DIR] [--state-out DIR] [--metrics-out FILE] ...',
].join('\n');

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
  const args = parseCommandLine(argv, steps, defaults);
  setSharedParameters(args.params);
  const runId = args.runId || new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z') + '-' + randomBytes(3).toString('hex');
  const runDir = join(args.artifacts, runId);
  mkdirSync(runDir, { recursive: true });
  const start = args.only ?? args.from;
  const first = start ? steps.findIndex((s) => s.name === start) : 0;
  const selected = args.only ? steps.slice(first, first + 1) : steps.slice(first);
  // A copy taken now: a step may change a parameter object in place, as the notebook's cells did.
  const params = structuredClone(args.params);
  const store = openStore(args.objects, runId);
  const writes = new Writes(store?.root);
  const run = { args, runDir, steps, classes, values: new Map(), alone: Boolean(args.only), writes };
  const written = [];
  let records;
  try {
    for (const [number, step] of selected.entries()) {
      // The run has failed already (an output could not be written): later steps would be thrown away.
      if (writes.failed) break;
      log('step ' + (number + 1) + '/' + selected.length + ' ' + step.name);
      store?.heartbeat();
      const { status, record } = await runStep(step, run);
      written.push(record);
      if (status === 'failed') break;
    }
    // Nothing is recorded as the run's until its files are: a launcher or a later --only run reads them.
    records = await Promise.all(written);
  } finally {
    await writes.close();
    store?.end();
  }
  const failed = records.some((r) => r.status === 'failed');
  const path = join(runDir, 'run.json');
  if (run.alone) {
    writeMergedRunRecord(path, runId, params, steps);
  } else {
    writeJson(path, {
      run_id: runId,
      params,
      status: failed ? 'failed' : 'succeeded',
      started: records[0]?.started ?? now(),
      finished: now(),
      steps: records.map(stepSummary),
      artifacts: records.flatMap((r) => r.artifacts),
      metrics: Object.assign({}, ...records.map((r) => r.metrics)),
    });
  }
  log('run ' + runId + ' ' + (failed ? 'failed' : 'succeeded') + '; record: ' + path);
  return failed ? 1 : 0;
}

/**
 * Runs one step. Its status is the step's own (did it run); its record (.step.json), with the
 * artifacts, comes once its outputs are written, and says failed when one could not be.
 */
async function runStep(step, run) {
  const { args } = run;
  const started = now();
  const clock = performance.now();
  const params = Object.fromEntries(step.params.map((name) => [name, args.params[name]]));
  const used = structuredClone(params);
  const files = [];
  const metrics = {};
  let failure;
  try {
    if (args.stateIn !== undefined) checkStateIn(args.stateIn);
    const inputs = {};
    for (const [name, producer] of Object.entries(step.inputs)) inputs[name] = input(run, name, producer);
    // Imported when it runs: a package only one step needs cannot stop the others, nor slow them.
    const { run: code } = await step.load();
    const outputs = (await code(inputs, params)) ?? {};
    for (const name of step.outputs) {
      run.values.set(step.name + '/' + name, outputs[name]);
      const file = snapshot(run, step, name, outputs[name]);
      if (file) files.push(file);
    }
    for (const name of step.metrics) metrics[name] = metric(outputs[name]);
    // Node has no seedable generator or settings to hand on: the state is an empty directory,
    // there so that a launcher can pass it to the next step's --state-in.
    if (args.stateOut !== undefined) mkdirSync(args.stateOut, { recursive: true });
    if (args.metricsOut !== undefined) writeJson(args.metricsOut, metrics);
  } catch (error) {
    failure = (error?.name ?? 'Error') + ': ' + (error?.message ?? String(error));
    // The runtime's own errors say all there is to say; a step's error needs its stack.
    console.error(error instanceof PipelineError ? 'error: ' + error.message : error);
    files.length = 0;
  }
  const record = {
    name: step.name,
    status: failure === undefined ? 'succeeded' : 'failed',
    started,
    finished: now(),
    seconds: Math.round(performance.now() - clock) / 1000,
    ...(failure === undefined ? {} : { error: failure }),
    params: used,
    artifacts: [],
    metrics: failure === undefined ? metrics : {},
  };
  return { status: record.status, record: run.writes.submit({ record, recordPath: join(run.runDir, step.name, STEP_RECORD), files }) };
}

/** A step's line in run.json. */
function stepSummary(record) {
  const { name, status, seconds, error } = record;
  return error === undefined ? { name, status, seconds } : { name, status, seconds, error };
}

/**
 * run.json of a run whose steps run as separate processes, perhaps at the same time: the merge
 * of every step record in the run directory. Each process writes its own record first, then
 * merges until a read after its last write finds nothing new: whoever adds a record later also
 * merges later, so the last run.json written has every record.
 */
function writeMergedRunRecord(path, runId, params, steps) {
  for (let written; ; ) {
    const records = steps.map((s) => readStepRecord(join(dirname(path), s.name, STEP_RECORD))).filter(Boolean);
    const key = JSON.stringify(records.map((r) => [r.name, r.finished]));
    if (key === written) return;
    const status = records.some((r) => r.status === 'failed') ? 'failed' : records.length === steps.length ? 'succeeded' : 'partial';
    writeJson(path, {
      run_id: runId,
      // This process's parameters, and for each step the ones it ran with.
      params: Object.assign({}, params, ...records.map((r) => r.params)),
      status,
      started: records.map((r) => r.started).sort()[0] ?? now(),
      finished: records.map((r) => r.finished).sort().at(-1) ?? now(),
      steps: records.map(stepSummary),
      artifacts: records.flatMap((r) => r.artifacts),
      metrics: Object.assign({}, ...records.map((r) => r.metrics)),
    });
    written = key;
  }
}

function readStepRecord(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    if (error.code !== 'ENOENT') log('warning: ' + path + ' is not a step record (' + error.message + '); left out of run.json');
    return undefined;
  }
}

/** Errors the runtime finds itself: a missing input, a value it cannot save. */
class PipelineError extends Error {}

function checkStateIn(path) {
  if (!isDirectory(path)) throw new PipelineError('--state-in ' + path + ': not a directory (one a --state-out wrote)');
}

function input(run, name, producer) {
  const key = producer + '/' + name;
  if (run.values.has(key)) return run.values.get(key);
  const given = run.args.inputs.get(name);
  const path = given === undefined ? findArtifact(run, producer, name) : valueFile(given, name);
  if (!path) {
    throw new PipelineError(
      'input ' + JSON.stringify(name) + ' from step ' + JSON.stringify(producer) + ' is not in memory and no earlier run has it; run step ' +
        JSON.stringify(producer) + ' first, or pass --input ' + name + '=PATH',
    );
  }
  if (!path.endsWith('.json')) throw new PipelineError('--input ' + name + ': ' + path + ' is not a value this runtime saves (a .json file)');
  log('loading ' + name + ' from ' + path);
  return decode(JSON.parse(readFileSync(path, 'utf8')), run.classes);
}

/** The value file of --input NAME=PATH: PATH itself, or the one file a --output directory holds. */
function valueFile(path, name) {
  if (!existsSync(path)) throw new PipelineError('--input ' + name + '=' + path + ': no such file or directory');
  if (!isDirectory(path)) return path;
  const files = readdirSync(path).filter((f) => !f.startsWith('.'));
  if (files.length !== 1) {
    throw new PipelineError('--input ' + name + '=' + path + ': expected the one value file a --output directory holds, found ' + (files.join(', ') || 'none'));
  }
  return join(path, files[0]);
}

/** This run's copy of an output, else the newest earlier run's. */
function findArtifact(run, producer, name) {
  const file = join(producer, name + '.json');
  const current = join(run.runDir, file);
  if (existsSync(current)) return current;
  let best;
  for (const other of readdirSync(run.args.artifacts)) {
    const path = join(run.args.artifacts, other, file);
    if (!existsSync(path)) continue;
    const mtime = stepRanAt(join(run.args.artifacts, other, producer));
    if (!best || mtime > best.mtime) best = { mtime, path };
  }
  return best?.path;
}

/**
 * When the step wrote this folder: its step record's mtime. Not an artifact's: an artifact in the
 * object store is a hard link, and its mtime is that of the run that first stored it.
 */
function stepRanAt(folder) {
  try {
    return statSync(join(folder, STEP_RECORD)).mtimeMs;
  } catch {
    return statSync(folder).mtimeMs;
  }
}

/**
 * An output as it is now, to be written by the writer thread, so a later step changing the value
 * in place cannot reach what is saved: its JSON form (`tree[0]`), except that typed arrays and
 * arrays of numbers are copied into typed arrays (`arrays`: a memcpy, where turning millions of
 * numbers into text or cloning them one by one is not). Undefined when the value cannot be saved
 * and the run can go on without its file.
 */
function snapshot(run, step, name, value) {
  const context = { classes: run.classes, seen: new Set(), arrays: [], size: 0 };
  const tree = [null];
  try {
    place(tree, 0, encode(value, name, context), context);
  } catch (error) {
    if (!(error instanceof NotSerializable)) throw error;
    if (run.alone) throw new PipelineError(cannotSave(run.steps, step, name, error));
    // The notebook handed it on in memory, and so does this run; only a later --only run lacks it.
    log('warning: output ' + JSON.stringify(name) + ' of step ' + JSON.stringify(step.name) + ' cannot be saved as JSON (' + error.message + '); it is passed in memory only');
    return undefined;
  }
  const path = join(run.args.outputs.get(name) ?? join(run.runDir, step.name), name + '.json');
  const where = relative(run.runDir, path);
  const outside = isAbsolute(where) || where === '..' || where.startsWith('..' + sep);
  return { path, recorded: outside ? resolve(path) : where.split(sep).join('/'), step: step.name, name, tree, arrays: context.arrays, size: context.size };
}

/** Why a step run on its own fails on a value it cannot save, and the two ways out. */
function cannotSave(steps, step, name, why) {
  const consumers = steps.filter((s) => s.inputs[name] === step.name).map((s) => s.name);
  const quoted = consumers.map((c) => JSON.stringify(c));
  const merge =
    consumers.length === 1
      ? ', or merge step ' + JSON.stringify(step.name) + ' into step ' + quoted[0] + ' (tag their cells with the same step:NAME)'
      : consumers.length > 1
        ? ', or merge step ' + JSON.stringify(step.name) + ' and the steps that read it into one step (the same step:NAME tag)'
        : '';
  return (
    'output ' + JSON.stringify(name) + ' of step ' + JSON.stringify(step.name) + ' cannot be saved as JSON: ' + why.message + '. ' +
    (consumers.length ? 'Step' + (consumers.length > 1 ? 's ' : ' ') + quoted.join(', ') + ' read' + (consumers.length > 1 ? '' : 's') + ' it' : 'It is a declared output') +
    ', and a step run on its own hands its outputs on only as files.\n' +
    'Fix: make it data JSON can hold (plain objects, arrays, numbers, strings, Map, Set, Date, typed arrays, instances of the notebook\'s classes), ' +
    'e.g. ' + why.hint + merge + '.'
  );
}

/** Why a value cannot be saved, and (hint) what would let it be. */
class NotSerializable extends Error {
  constructor(message, hint) {
    super(message);
    this.hint = hint;
  }
}

/**
 * A value -> JSON. Plain data stays plain JSON; what JSON cannot hold (undefined, NaN, -0,
 * BigInt, Date, Map, Set, RegExp, typed arrays, instances of the notebook's own classes) is
 * wrapped in {"$nb2prod": type, ...}. Anything else fails with the path to the culprit.
 */
function encode(value, path, context) {
  switch (typeof value) {
    case 'string':
      context.size += value.length >> 3;
      return value;
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
      throw new NotSerializable(path + ' is a function', 'define the function in a functions cell, which every step imports, and hand on the data it works on');
    case 'symbol':
      throw new NotSerializable(path + ' is a symbol', 'use a string in its place');
  }
  if (value === null) return null;
  const { seen } = context;
  if (seen.has(value)) throw new NotSerializable(path + ' refers back to itself (a circular structure)', 'keep ids or keys in place of the references back');
  seen.add(value);
  try {
    return encodeObject(value, path, context);
  } finally {
    seen.delete(value);
  }
}

function encodeObject(value, path, context) {
  if (Array.isArray(value)) {
    const numbers = asNumbers(value);
    if (numbers) return new Numbers(numbers);
    const out = [];
    context.size += value.length;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === 'string') context.size += item.length >> 3;
      if (isJsonScalar(item)) out.push(item);
      else place(out, out.push(null) - 1, encode(item, path + '[' + i + ']', context), context);
    }
    return out;
  }
  if (value instanceof Date) return { [TAG]: 'Date', value: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (value instanceof Map) {
    return {
      [TAG]: 'Map',
      entries: Array.from(value, ([k, v], i) => {
        const entry = [null, null];
        place(entry, 0, encode(k, path + '.keys()[' + i + ']', context), context);
        place(entry, 1, encode(v, path + '.get(' + describeKey(k) + ')', context), context);
        return entry;
      }),
    };
  }
  if (value instanceof Set) {
    const values = [];
    for (const v of value) {
      const i = values.push(null) - 1;
      place(values, i, encode(v, path + '.values()[' + i + ']', context), context);
    }
    return { [TAG]: 'Set', values };
  }
  if (value instanceof RegExp) return { [TAG]: 'RegExp', source: value.source, flags: value.flags };
  const typed = TYPED_ARRAYS.find((T) => value instanceof T);
  if (typed) {
    const holder = { [TAG]: typed.name, values: null };
    place(holder, 'values', new Numbers(value.slice()), context);
    return holder;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const fields = encodeFields(value, path, context);
    return Object.hasOwn(value, TAG) ? { [TAG]: 'Object', value: fields } : fields;
  }
  const className = Object.keys(context.classes).find((name) => context.classes[name].prototype === proto);
  if (className) return { [TAG]: 'class', class: className, value: encodeFields(value, path, context) };
  if (value instanceof Promise) throw new NotSerializable(path + ' is a Promise', 'await it in the step and hand on the result');
  const kind = value.constructor?.name ? 'a ' + value.constructor.name : 'an object with a custom prototype';
  throw new NotSerializable(
    path + ' is ' + kind + ' (only plain data, Map, Set, Date, RegExp, typed arrays and the notebook\'s own classes without #private fields can be saved)',
    'copy what the next steps need into plain data, or define the class in a functions cell',
  );
}

function encodeFields(value, path, context) {
  const out = {};
  for (const key of Object.keys(value)) {
    const field = value[key];
    context.size += typeof field === 'string' ? 1 + (field.length >> 3) : 1;
    if (isJsonScalar(field)) out[key] = field;
    else place(out, key, encode(field, path + '.' + key, context), context);
  }
  return out;
}

/** A copy of numbers (a typed array) that stands in the JSON tree for the array the writer makes of it. */
class Numbers {
  constructor(values) {
    this.values = values;
  }
}

/** container[key] = encoded; a Numbers is left out of the tree, for the writer to put there (writeOutput). */
function place(container, key, encoded, context) {
  if (encoded instanceof Numbers) {
    context.arrays.push([container, key, encoded.values]);
    context.size += encoded.values.length;
    container[key] = null;
  } else {
    container[key] = encoded;
  }
}

/**
 * A large array of plain numbers as a Float64Array, which holds each exactly (JSON text of the two
 * is the same); undefined for any other array. Small arrays are not worth a copy of their own.
 */
function asNumbers(array) {
  if (array.length < 64 || typeof array[0] !== 'number') return undefined;
  const numbers = new Float64Array(array.length);
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    if (typeof item !== 'number' || !Number.isFinite(item) || Object.is(item, -0)) return undefined;
    numbers[i] = item;
  }
  return numbers;
}

/** What JSON holds as it is: most items of a large array, taken without building their path. */
function isJsonScalar(value) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    default:
      return value === null;
  }
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

// The object store, shared with nb2prod (src/core/store/objects.ts) and the Python runtime:
//
//   <store>/sha256/<2 hex>/<62 hex>   one read-only (0444) file per sha256, written once
//   <store>/tmp/<writer>              temp files; nb2prod removes those whose writer is gone
//   <store>/active/<run>@<writer>     a running pipeline's marker: `nb2prod gc` keeps every object
//                                     younger than the oldest live marker (JSON: run_id, started)
//   <writer> = <12 hex random>.<pid>.<host name>; '@' is in neither a run id nor a host name
//
// Where: --objects DIR, else $NB2PROD_OBJECTS (both created when missing), else the first
// .nb2prod/objects directory in the current directory or above (never created), else none.
// An object is written to a temp file, fsynced, made read-only and renamed into place, only when
// the store lacks it. The artifact file is then a hard link to it, put in place by a rename; where
// a link cannot be made (a container's bind mounts, another file system) a copy, which nb2prod
// turns into a link when it stores the run. The marker exists from the run's start to its end,
// its mtime refreshed as each step starts (how gc tells another host's live run from a dead one).

const STORE_ENV = 'NB2PROD_OBJECTS';

/** A link that cannot be made here, as opposed to a failed write. */
const CANNOT_LINK = new Set(['EXDEV', 'EPERM', 'EACCES', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP']);

/** The run's object store with its marker made; undefined without one (or one this process cannot write into: plain files then). */
function openStore(given, runId) {
  const chosen = given || process.env[STORE_ENV];
  const root = chosen ? resolve(chosen) : nearestStore(process.cwd());
  if (!root) return undefined;
  try {
    const fresh = Boolean(chosen) && !isDirectory(root);
    mkdirSync(join(root, 'tmp'), { recursive: true });
    // As nb2prod makes a store: one inside a repository is never committed.
    if (fresh) writeExclusive(join(root, '.gitignore'), '*\n', true);
    mkdirSync(join(root, 'active'), { recursive: true });
    const marker = join(root, 'active', runId + '@' + writer());
    writeExclusive(marker, JSON.stringify({ run_id: runId, started: Date.now() / 1000 }));
    return {
      root,
      heartbeat() {
        try {
          const now = new Date();
          utimesSync(marker, now, now);
        } catch {
          // gc then judges the run by its pid, or by the marker's age
        }
      },
      end() {
        rmSync(marker, { force: true });
      },
    };
  } catch (error) {
    log('warning: object store ' + root + ' not used (' + error.message + '); artifacts are plain files');
    return undefined;
  }
}

function nearestStore(folder) {
  for (;;) {
    const candidate = join(folder, '.nb2prod', 'objects');
    if (isDirectory(candidate)) return candidate;
    const parent = dirname(folder);
    if (parent === folder) return undefined;
    folder = parent;
  }
}

/** Who writes a file: `<random>.<pid>.<host>`, as nb2prod's writerSuffix. */
function writer() {
  return randomBytes(6).toString('hex') + '.' + process.pid + '.' + hostname();
}

function writeExclusive(path, text, existing = false) {
  try {
    writeFileSync(path, text, { flag: 'wx' });
  } catch (error) {
    if (!(existing && error.code === 'EEXIST')) throw error;
  }
}

function objectPath(store, sha256) {
  return join(store, 'sha256', sha256.slice(0, 2), sha256.slice(2));
}

/** Store the bytes as object sha256 unless it is there. */
function putObject(store, sha256, bytes) {
  const target = objectPath(store, sha256);
  if (existsSync(target)) return;
  const temp = join(store, 'tmp', writer());
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temp, 0o444);
    mkdirSync(dirname(target), { recursive: true });
    try {
      renameSync(temp, target);
    } catch (error) {
      if (!existsSync(target)) throw error; // else another writer stored it first
    }
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Make path a hard link to the object; false when no link can be made there. */
function linkObject(store, sha256, bytes, path) {
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const temp = join(store, 'tmp', writer());
    try {
      linkSync(objectPath(store, sha256), temp);
    } catch (error) {
      if (error.code === 'ENOENT' && attempt === 1) {
        putObject(store, sha256, bytes); // removed since it was stored (a gc of another run's objects)
        continue;
      }
      if (CANNOT_LINK.has(error.code)) return false;
      throw error;
    }
    try {
      renameSync(temp, path);
      return true;
    } catch (error) {
      if (CANNOT_LINK.has(error.code)) return false;
      throw error;
    } finally {
      rmSync(temp, { force: true });
    }
  }
}

/** The size (about the items, or eight characters of text) of a step's outputs above which a writer thread pays. */
const WORTH_A_THREAD = 1 << 16;

/**
 * The writer thread: writes each step's outputs (then its record) in the order the steps ended,
 * while the main thread runs the next step. Where no worker can start, the main thread writes.
 */
class Writes {
  /** `store`: the object store's directory, if the run has one. */
  constructor(store) {
    this.store = store;
    this.failed = false;
    this.worker = undefined;
    this.pending = new Map();
    this.last = 0;
  }

  /** A step's outputs and record to write: the record as written (failed when a file could not be). */
  submit(job) {
    job.store = this.store;
    const ran = job.record.status === 'succeeded';
    // Starting the thread costs more than writing a few kilobytes (about 50 ms): small outputs are
    // written here, unless earlier ones are still being written (records then keep their order).
    const small = job.files.reduce((sum, f) => sum + f.size, 0) < WORTH_A_THREAD;
    if (small && this.pending.size === 0) return Promise.resolve(this.finished(writeStep(job), ran));
    const worker = this.start();
    if (!worker) return Promise.resolve(this.finished(writeStep(job), ran));
    const id = ++this.last;
    // The copies of number arrays move to the writer, not copied again.
    const transfer = job.files.flatMap((f) => f.arrays.map(([, , numbers]) => numbers.buffer));
    return new Promise((resolve) => {
      // Not the job itself: its outputs' copies are the writer's now, and would only take memory here.
      this.pending.set(id, { record: job.record, recordPath: job.recordPath, outputs: job.files.length, ran, resolve });
      worker.postMessage({ id, job }, transfer);
    });
  }

  start() {
    if (this.worker !== undefined) return this.worker;
    try {
      this.worker = new Worker(new URL(import.meta.url), { workerData: { [TAG]: 'writer' } });
    } catch (error) {
      log('warning: no writer thread (' + error.message + '); outputs are written between steps');
      this.worker = null;
      return null;
    }
    this.worker.on('message', ({ id, record }) => {
      const waiting = this.pending.get(id);
      this.pending.delete(id);
      waiting?.resolve(this.finished(record, waiting.ran));
    });
    // The thread itself died (out of memory, say): every step it had not finished failed.
    const stopped = (why) => {
      for (const [id, { record: unwritten, recordPath, outputs, ran, resolve }] of this.pending) {
        this.pending.delete(id);
        const record = failedWrite(unwritten, outputs ? 'the outputs' : 'the record', why);
        try {
          writeJson(recordPath, record);
        } catch {
          // run.json still says why
        }
        resolve(this.finished(record, ran));
      }
    };
    this.worker.on('error', (error) => stopped('the writer thread stopped: ' + describeError(error)));
    this.worker.on('exit', (code) => stopped('the writer thread exited with code ' + code));
    return this.worker;
  }

  /** The record as written; a step that ran but whose files could not be written fails the run. */
  finished(record, ran) {
    if (ran && record.status === 'failed') {
      this.failed = true;
      log('error: ' + record.error);
    }
    return record;
  }

  /** Stop the thread once every write is done (the caller has awaited them). */
  async close() {
    if (this.worker) {
      this.worker.removeAllListeners('exit');
      await this.worker.terminate();
    }
  }
}

/** A step's outputs, then its record with their artifact entries; a file that cannot be written fails the step. */
function writeStep({ record, recordPath, files, store }) {
  let name;
  try {
    for (const file of files) {
      name = file.name;
      record.artifacts.push(writeOutput(file, store));
    }
    name = undefined;
    writeJson(recordPath, record);
    return record;
  } catch (error) {
    const failed = failedWrite(record, name === undefined ? 'the record' : 'output ' + JSON.stringify(name), describeError(error));
    if (name !== undefined) {
      try {
        writeJson(recordPath, failed);
      } catch {
        // run.json still says why
      }
    }
    return failed;
  }
}

function failedWrite(record, what, why) {
  return { ...record, status: 'failed', error: what + ' of step ' + JSON.stringify(record.name) + ' could not be written (' + why + ')', metrics: {} };
}

/** One output as its file, through the object store when the run has one; its artifact entry. */
function writeOutput({ path, recorded, step, name, tree, arrays }, store) {
  for (const [container, key, numbers] of arrays) {
    container[key] = numbers instanceof BigInt64Array || numbers instanceof BigUint64Array ? Array.from(numbers, String) : Array.from(numbers);
  }
  const bytes = Buffer.from(JSON.stringify(tree[0]) + '\n');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (store) {
    // Hashed first: the bytes are written only when the store lacks them, and the artifact is a link to the object.
    putObject(store, sha256, bytes);
    if (!linkObject(store, sha256, bytes, path)) writeAtomically(path, bytes);
  } else {
    writeAtomically(path, bytes);
  }
  return { path: recorded, sha256, bytes: bytes.length, step, name };
}

function describeError(error) {
  return (error?.name ?? 'Error') + ': ' + (error?.message ?? String(error));
}

function writeJson(path, data) {
  writeAtomically(path, JSON.stringify(data, null, 2) + '\n');
}

/**
 * Readers (a later step, a launcher merging records) never see half a file. The temporary name
 * is hidden, so an --output directory still holds one visible file, and per process, so two
 * steps merging run.json at once do not write into each other's.
 */
function writeAtomically(path, data) {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = join(dirname(path), '.' + basename(path) + '.' + process.pid + '.tmp');
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

function isDirectory(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** ISO 8601 with milliseconds and +00:00, as the Python runtime writes it. */
function now() {
  return new Date().toISOString().replace('Z', '+00:00');
}

function log(message) {
  process.stderr.write('[pipeline] ' + message + '\n');
}

// This module is also the writer thread's (Writes.start): it serves the jobs it is sent, in order.
if (!isMainThread && workerData?.[TAG] === 'writer') {
  parentPort.on('message', ({ id, job }) => parentPort.postMessage({ id, record: writeStep(job) }));
}
