/** The Plan: the language-neutral description of the pipeline a notebook becomes. */
import type { Diagnostic } from '../errors';
import type { DefinitionInfo, ImportInfo } from '../analysis/types';

export interface StepInput {
  name: string;
  /** The step that produces the value (nearest earlier producer on the path). */
  from: string;
}

export interface StepCell {
  index: number;
  id: string;
}

export interface Step {
  /** Safe slug: [a-z_][a-z0-9_]*, never a Python keyword, unique in the plan. */
  name: string;
  /** The name as written in the tag (for messages only; never reaches code or paths). */
  label: string;
  cells: StepCell[];
  /** Executable body, cells joined, imports and definitions moved out. */
  code: string;
  uses: string[];
  defines: string[];
  /** Names the step's statements bind: with inputs and params, the locals of its function. */
  assigned: string[];
  inputs: StepInput[];
  outputs: string[];
  after: string[];
  params: string[];
  metrics: string[];
  imports: ImportInfo[];
  /** Names the step takes from the shared module (functions, classes, setup values). */
  sharedUses: string[];
  /** Functions that read step values through globals: defined inside the step so they see them. */
  localDefinitions: DefinitionInfo[];
  resources: Record<string, string>;
  image?: string;
  /** Module attributes the step's code reads (`__name__`, `__file__`), which meant the notebook, not the step module. */
  notebookGlobals?: string[];
  /** Its code calls `globals()`, the notebook's namespace: it receives every value made before it. */
  readsNamespace?: boolean;
  /** Its code awaits at top level, as IPython allows: the step function is a coroutine run on an event loop. */
  awaits?: boolean;
  /**
   * Statements that configure the process (`logging.basicConfig(...)`) and read only imports:
   * replayed before a later step that runs without this one (`--only`, `--from`).
   */
  settings?: string[];
  /**
   * The step calls the notebook's serving function: its calls are recorded and saved as the
   * step's `serve_calls` output (in `outputs`). `cell`: the step's first cell that reads it.
   */
  serveCalls?: { function: string; cell: number };
  diagnostics: Diagnostic[];
  /** The code per source cell, in order (the generator marks where each cell starts). */
  bodies: CellBody[];
}

export interface CellBody {
  cell: number;
  cellId: string;
  body: string;
  /** Tagged raises-exception: the step reports the cell's error and goes on, as the notebook did. */
  raisesException?: boolean;
}

export interface Plan {
  notebook: string;
  notebookHash: string;
  language: string;
  /** Parameter name -> literal value (JSON). */
  params: Record<string, unknown>;
  /** The parameters cells' code, for generators whose language tells apart what JSON does not (`1.0` from `1`, a tuple from a list). */
  paramSource?: string;
  steps: Step[];
  /** Functions and classes of the notebook, in notebook order, for the shared module. */
  definitions: DefinitionInfo[];
  /** Imports the shared definitions and shared code need. */
  sharedImports: ImportInfo[];
  /** Module-level code of imports/functions cells (and computed parameters), run once in the shared module. */
  sharedCode: { cell: number; cellId: string; body: string }[];
  /** Process-wide settings in the shared code (`pd.set_option(...)` in an imports cell): every step needs them, used or not. */
  sharedSettings?: string[];
  /** Requirement lines from %pip/!pip (specifiers), and modules imported anywhere. */
  /** `optional`: modules only ever imported where a handler covers their absence (not installed). */
  requirements: { pins: string[]; modules: string[]; optional?: string[] };
  /** The `serve` cell's function (issue 14), when the notebook has one. */
  serve?: ServePlan;
  diagnostics: Diagnostic[];
}

/** The output name under which a step saves the calls it made of the serving function. */
export const SERVE_CALLS_ARTIFACT = 'serve_calls';

export type ServeFieldType = 'number' | 'integer' | 'string' | 'boolean' | 'array' | 'object' | 'any';

export interface ServePlan {
  /** The function's name (a Python identifier, from the notebook's code). */
  function: string;
  cell: StepCell;
  /** `record`: one dict (or keyword fields) per call; `rows`: a list of dicts per call. */
  form: 'record' | 'rows';
  fields: { name: string; type: ServeFieldType }[];
  fieldsFrom: 'hints' | 'calls' | 'none';
  /** Step values it reads (directly or through notebook functions), by the step whose output is bound. */
  needs: { name: string; step: string }[];
  /** Pipeline parameters it reads: the serving module starts from their defaults. */
  params: string[];
  /** The step that records the notebook's own calls, null when the notebook never calls it. */
  calls: { step: string; artifact: string } | null;
  /** The function's definition and the notebook functions it calls that the shared module does not hold, in notebook order. */
  definitions: DefinitionInfo[];
  /** Names it (or those definitions) take from the shared module: functions, classes, setup values. */
  sharedUses: string[];
  imports: ImportInfo[];
}

/** A step with its source and nothing resolved yet: the planner fills in the data flow. */
export function newStep(name: string, label: string, cells: StepCell[], bodies: Step['bodies'], resources: Record<string, string> = {}): Step {
  return {
    name,
    label,
    cells,
    code: bodies.map((b) => b.body).join('\n\n'),
    uses: [],
    defines: [],
    assigned: [],
    inputs: [],
    outputs: [],
    after: [],
    params: [],
    metrics: [],
    imports: [],
    sharedUses: [],
    localDefinitions: [],
    resources,
    diagnostics: [],
    bodies,
  };
}
