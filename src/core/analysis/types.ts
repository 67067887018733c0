/**
 * The contract between a language analyser and the planner. Everything is per cell;
 * the planner combines cells into steps. Lines are 1-based within the ORIGINAL cell source
 * (before magics were rewritten), so every message points at what the user sees.
 */
import type { Diagnostic } from '../errors';

export interface NameRef {
  name: string;
  line: number;
  column: number;
}

export interface ImportInfo {
  /** Names the statement binds in the module namespace (`np` for `import numpy as np`). */
  names: string[];
  /** Top-level module names (`numpy`, `sklearn`), for requirements; relative imports excluded. */
  modules: string[];
  /**
   * The subset of `modules` the code does without: imported in a `try` whose handler catches
   * the ImportError (`try: import ujson as json / except ImportError: import json`).
   */
  optional?: string[];
  /** The statement's source text, re-emitted at the top of every step that uses one of `names`. */
  code: string;
  line: number;
  /** `from m import *`: binds names the analysis cannot list. */
  star?: boolean;
}

export interface DefinitionInfo {
  name: string;
  kind: 'function' | 'class';
  /** Full source text, decorators included. */
  code: string;
  line: number;
  /** Free names its body reads from module scope (not builtins, not its own locals/params). */
  globals: NameRef[];
  /**
   * What calling it changes beyond its return value: parameters its body mutates in place
   * (`def clean(df): df.dropna(inplace=True)`), module names it rebinds through `global`, module
   * values it mutates. Optional: analysers that cannot tell leave it out.
   */
  effects?: DefinitionEffects;
  /**
   * Module names read when the statement itself runs (decorators, defaults, bases, a class body),
   * not when the function is called: their values at that moment are baked in. Optional.
   */
  definitionReads?: string[];
  /**
   * The names its decorators start from, known wrappers (`@dataclass`, `@functools.wraps`) left
   * out: `Features` for `@Features.register()`. Such a decorator may act as the def statement
   * runs (register the function somewhere), so it must run once, where the notebook ran it. Optional.
   */
  decoratorRoots?: string[];
  /**
   * A class's methods that change the instance (`self.items.append(x)`, `self.n = 0`, or a call of
   * such a method on `self`): `tracker.record(1)` changes `tracker`. Optional.
   */
  mutatingMethods?: string[];
  /** The calls its methods make on `self` ([caller, callee]): an inherited method may be one that changes it. Optional. */
  selfCalls?: [caller: string, callee: string][];
  /** How many lines of the cell's `body` came before the definition: where it ran. Optional. */
  bodyLine?: number;
  /** A function's parameters with their annotations (a serving function's input fields). Optional. */
  signature?: ParameterInfo[];
  /** A class's bases, decorators and annotated fields (a TypedDict or dataclass as a serving input). Optional. */
  classShape?: ClassShape;
}

export interface ParameterInfo {
  name: string;
  kind: 'positional' | 'keyword-only' | 'var-positional' | 'var-keyword';
  /** The annotation's source text. */
  annotation?: string;
  hasDefault: boolean;
}

export interface ClassShape {
  /** Base expressions' source text (`TypedDict`, `typing.TypedDict`). */
  bases: string[];
  /** Decorator expressions' source text without `@` (`dataclass`, `dataclasses.dataclass(frozen=True)`). */
  decorators: string[];
  fields: { name: string; annotation: string; hasDefault: boolean }[];
}

/** What a literal argument says about its shape: `{"age": 3}` has keys; `[{...}]` has items. */
export interface ArgumentShape {
  type: string;
  /** A dict literal's string keys -> the JSON type of each value (`any` when not a literal). */
  keys?: Record<string, string>;
  /** A list literal's dict elements, each as `keys`. */
  items?: Record<string, string>[];
}

/** A call of a module-level name whose arguments include literal shapes (`predict({"age": 3})`), anywhere in the cell. */
export interface LiteralCall {
  callee: string;
  line: number;
  positional: ArgumentShape[];
  keywords: Record<string, ArgumentShape>;
}

export interface DefinitionEffects {
  /** The positional parameters in order (to match call arguments to names). */
  parameters: string[];
  mutatesParameters: string[];
  writesGlobals: string[];
  mutatesGlobals: string[];
  /** Calls its body makes; arguments are named by the parameters they are. */
  calls: CallSite[];
}

/** A top-level call of a plain name, with the received values each argument is (part of). */
export interface CallSite {
  callee: string;
  positional: string[][];
  keywords: Record<string, string[]>;
}

/** A method call at top level on (part of) received values: `tracker.record(1)`. */
export interface MethodCall {
  method: string;
  receivers: string[];
}

export interface CellAnalysis {
  /**
   * Executable code of the cell with IPython syntax rewritten to plain code and with the
   * top-level import statements and def/class statements REMOVED (they are listed in
   * `imports` / `definitions` and re-emitted by the generator). Empty string when nothing remains.
   */
  body: string;
  /** Free names read at top level before the cell binds them itself (builtins excluded), first occurrence each. */
  uses: NameRef[];
  /**
   * Free names read only where the cell catches NameError (`try: cache / except NameError:
   * cache = {}`): inputs when an earlier step binds them, never missing. Optional.
   */
  optionalUses?: NameRef[];
  /**
   * Builtin names read like `uses` (`input`, `id`, `max`...). Notebooks often rebind these
   * (`input = pd.read_csv(...)`): when an earlier step defines one, it is a real input.
   * Optional: analysers that cannot tell leave it out.
   */
  builtinUses?: NameRef[];
  /** Names bound at top level (assignment, for, with, walrus, augmented, del-then-rebind...), excluding imports and def/class. */
  defines: string[];
  /** Names deleted at top level with `del`. */
  deletes: string[];
  /** Received names the cell mutates in place (`df["a"] = 1`, `x.append(1)`, `df.drop(..., inplace=True)`). */
  mutates: string[];
  imports: ImportInfo[];
  definitions: DefinitionInfo[];
  /** Calls the cell makes as it runs, so the planner can apply the effects of the notebook's own functions. Optional. */
  calls?: CallSite[];
  /** Method calls on received values the mutating-method list does not know (a notebook class's may change them). Optional. */
  methodCalls?: MethodCall[];
  /** Calls with literal dict/keyword arguments, for a serving function's fields from the notebook's example calls. Optional. */
  literalCalls?: LiteralCall[];
  /** Names bound by module-level `global` statements inside functions (a function that writes a global). */
  globalWrites: string[];
  /** Requirement specifiers from `%pip install` / `!pip install` lines (`pandas==2.1`, `scikit-learn`). */
  requirements: string[];
  /** Modules the rewritten body needs that the cell did not import (e.g. `subprocess` for `!cmd`). */
  extraImports: ImportInfo[];
  /** Literal assignments `name = <literal>` at top level, evaluated to JSON values (for parameters cells). */
  literals: Record<string, unknown>;
  /**
   * The cell awaits at top level (`await`, `async for`, `async with` outside any function), as
   * IPython allows: its code must run on an event loop. Optional: analysers that cannot tell leave it out.
   */
  awaits?: boolean;
  /**
   * The cell calls `globals()` (the notebook's namespace, any name in it may be read by a string:
   * `"%(name)s" % globals()`, `"df" in globals()`). Optional.
   */
  readsNamespace?: boolean;
  /** Top-level statements that configure the process (logging, warnings, display options). Optional. */
  settings?: ProcessSetting[];
  diagnostics: Diagnostic[];
}

/**
 * A statement whose effect is on the process, not on a value (`logging.basicConfig(...)`): a step
 * run on its own needs the ones earlier steps made. `reads`: the names it needs, builtins left out.
 */
export interface ProcessSetting {
  code: string;
  reads: string[];
}

export interface CellAnalyzer {
  readonly language: string;
  /** `cell` is the cell index, only used to fill diagnostics. Never throws on bad syntax: reports an error diagnostic. */
  analyzeCell(source: string, cell: number): CellAnalysis;
}
