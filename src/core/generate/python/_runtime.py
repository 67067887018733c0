"""Runtime support for the generated pipeline (standard library only).

Steps run in order, passing values in memory; every output is also saved as an artifact
(numpy and pandas values in their own formats, pickle otherwise) with its sha256 and size.
Each step leaves a record (<run>/<step>/.step.json) and the run one (<run>/run.json), also when
a step fails. A step's outputs are copied into bytes when it ends and written and hashed by a
thread while the next step runs; the run ends when every write has, and a failed write fails it. A launcher runs one step per process with --only STEP, telling it where values
(--input, --output), process state (--state-in, --state-out) and metrics (--metrics-out) go.

Imports stay few and cheap: a launcher starts one process per step.
"""
import argparse
import ast
import datetime
import hashlib
import importlib
import json
import math
import os
import pickle
import re
import sys
import threading
import time
import types
from collections import namedtuple

Step = namedtuple("Step", "name module inputs outputs params metrics settings", defaults=(False,))

# Launchers (Kubeflow, Argo, CI) bring their own ids, UUIDs among them; the id names a directory.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

# The files an output is saved as, by the value's kind; no other file in a folder is an output.
_FORMATS = (".npy", ".pandas.pkl", ".pkl")

# Named with a leading dot: no output can be called that.
_STEP_RECORD = ".step.json"


class _CannotSave(Exception):
    """An output cannot be written as an artifact; the message is the reason."""


class _StepError(Exception):
    """The step cannot get its inputs or hand on its outputs; the message says why and what to do
    (a traceback into this runtime would not help)."""


def display(*objects, **_kwargs):
    """Notebook display() outside Jupyter: print what the notebook showed as text, the repr."""
    for obj in objects:
        print(repr(obj))


def show_expected_error():
    """A cell tagged raises-exception failed, as the notebook expected: show the traceback and go on."""
    import traceback

    traceback.print_exc()


def notebook_globals():
    """globals() as the calling step's notebook code meant it: the module's names and the step's values, as they are now."""
    frame = sys._getframe(1)

    def namespace():
        names = dict(frame.f_globals)
        names.update((name, value) for name, value in frame.f_locals.items() if name != "globals")
        return names

    return namespace


# ---- The serving function's calls (nb2prod serve) --------------------------------------------
# A step that calls the notebook's serving function saves what each call was given and returned
# (its serve_calls output): the skew guard replays them against the served artifacts.
_SERVE_CALLS_KEPT = 1000


def record_serve_calls(function, calls, cell):
    """The serving function, appending its first 1000 calls to `calls` as
    {"args", "kwargs", "result", "cell"}. Arguments are copied before the call (the function or
    the notebook may change a row afterwards), the result after it."""
    import functools

    @functools.wraps(function)
    def recorded(*args, **kwargs):
        if len(calls) >= _SERVE_CALLS_KEPT:
            return function(*args, **kwargs)
        given = _serve_copy((args, kwargs))
        result = function(*args, **kwargs)
        kept = _serve_copy(result)
        # A value that cannot be pickled cannot be saved or replayed: such a call is left out.
        if given is not _NOT_COPIED and kept is not _NOT_COPIED:
            calls.append({"args": given[0], "kwargs": given[1], "result": kept, "cell": cell})
        return result

    return recorded


def _serve_copy(value):
    """A copy through pickle: unlike deepcopy it shares no string with other calls or the code
    (`"age"` in a literal is the interned one, in a loaded row it is not), so the saved calls are
    the same bytes whether the step got its inputs in memory or from files."""
    try:
        return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return _NOT_COPIED


_NOT_COPIED = object()


def as_python_reads(params, source):
    """The parameter defaults as the notebook's Python evaluates them: JSON turned 1.0 into 1 and (1, 2) into a list."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return params
    exact = dict(params)
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and target.id in params:
                try:
                    exact[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return exact


# Flags about the one step a process runs.
_ONE_STEP_FLAGS = (
    ("--input", "input"),
    ("--output", "output"),
    ("--state-in", "state_in"),
    ("--state-out", "state_out"),
    ("--metrics-out", "metrics_out"),
)


def parse_args(argv, steps, defaults):
    parser = argparse.ArgumentParser(prog="python -m " + __name__.rpartition(".")[0], description="Run the pipeline.")
    names = [step.name for step in steps]
    parser.add_argument("--only", choices=names, help="run this step only")
    parser.add_argument("--from", dest="start", choices=names, help="run from this step on")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="override a parameter (a Python or JSON value)"
    )
    parser.add_argument("--artifacts", default="artifacts", help="artifacts directory (default: artifacts)")
    # An empty NB2PROD_RUN_ID is unset (a launcher template with no value); an empty --run-id is an error.
    parser.add_argument("--run-id", default=os.environ.get("NB2PROD_RUN_ID") or None, help="run id (default: generated)")
    one_step = parser.add_argument_group("one step in its own process (with --only)")
    one_step.add_argument("--input", action="append", default=[], metavar="NAME=PATH", help="read input NAME from PATH (a file, or a directory --output wrote)")
    one_step.add_argument("--output", action="append", default=[], metavar="NAME=PATH", help="write output NAME into directory PATH")
    one_step.add_argument("--state-in", metavar="DIR", help="process state (random generators) from an earlier step's --state-out")
    one_step.add_argument("--state-out", metavar="DIR", help="write the process state after this step into DIR")
    one_step.add_argument("--metrics-out", metavar="FILE", help="write this step's metrics as a JSON object to FILE")
    args = parser.parse_args(argv)

    if args.run_id is None:
        args.run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + os.urandom(3).hex()
    elif not _RUN_ID.fullmatch(args.run_id):
        parser.error("run id %r: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit" % args.run_id)

    args.params = dict(defaults)
    for item in args.param:
        name, sep, text = item.partition("=")
        if not sep or name not in defaults:
            parser.error("unknown parameter %r; known: %s" % (name, ", ".join(sorted(defaults)) or "none"))
        try:
            args.params[name] = _coerce(text, defaults[name])
        except ValueError as expected:
            parser.error("parameter %r expects %s, got %r" % (name, expected, text))

    if not args.only:
        given = [flag for flag, value in _ONE_STEP_FLAGS if getattr(args, value)]
        if given:
            parser.error("%s %s --only STEP" % (", ".join(given), "needs" if len(given) == 1 else "need"))
        args.inputs = args.outputs = {}
        return args
    step = steps[names.index(args.only)]
    args.inputs = _named_paths(parser, "--input", args.input, list(step.inputs), step.name)
    args.outputs = _named_paths(parser, "--output", args.output, step.outputs, step.name)
    return args


def _named_paths(parser, flag, items, known, step):
    paths = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not path:
            parser.error("%s expects NAME=PATH, got %r" % (flag, item))
        if name not in known:
            kind = flag.lstrip("-") + "s"
            parser.error("step %r has no %s %r; its %s: %s" % (step, flag.lstrip("-"), name, kind, ", ".join(known) or "none"))
        paths[name] = path
    return paths


def _coerce(text, default):
    """The value of --param NAME=TEXT, of the default's type; ValueError says what was expected."""
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("true or false")
    if isinstance(default, str):
        return text
    value = _literal(text)
    if isinstance(default, (int, float)):
        if isinstance(value, str):
            try:
                value = float(text)  # nan, inf: not literals
            except ValueError:
                raise ValueError("a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("a number")
        return float(value) if isinstance(default, float) else value
    for kind in (list, tuple, dict):
        if isinstance(default, kind):
            if isinstance(value, (list, tuple)) and kind is not dict:
                return kind(value)
            if not isinstance(value, kind):
                raise ValueError("a Python %s literal" % kind.__name__)
    return value


def _literal(text):
    """A Python literal, else JSON as launchers write it (true, null, {"a": [1, false]}), else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    try:
        return json.loads(text)
    except ValueError:
        return text


def run_pipeline(steps, args):
    run_dir = os.path.join(args.artifacts, args.run_id)
    os.makedirs(run_dir, exist_ok=True)
    names = [step.name for step in steps]
    first = names.index(args.only or args.start) if (args.only or args.start) else 0
    selected = steps[first:first + 1] if args.only else steps[first:]
    record = {
        "run_id": args.run_id,
        "params": {name: _metric(value) for name, value in args.params.items()},
        "status": "running",
        "started": _now(),
        "finished": None,
        "steps": [],
        "artifacts": [],
        "metrics": {},
    }
    values = {}
    writing = []
    for number, step in enumerate(selected, 1):
        if any(earlier.failed for earlier in writing):
            break  # the run has failed already: its later steps would only be thrown away
        _log("step %d/%d %s" % (number, len(selected), step.name))
        # Only the first step of a process needs what the steps before it left in the process.
        entry, files = _run_step(step, steps, values, args, run_dir, steps[:first] if number == 1 else None)
        writing.append(_Writes(entry, files, os.path.join(run_dir, step.name, _STEP_RECORD)))
        if entry["status"] == "failed":
            break
    # Nothing is recorded as the run's until its files are: a launcher or a later --only run reads them.
    for writes in writing:
        writes.thread.join()
        entry = writes.entry
        record["steps"].append(_step_summary(entry))
        record["artifacts"].extend(entry["artifacts"])
        record["metrics"].update(entry["metrics"])
    status = 1 if any(writes.entry["status"] == "failed" for writes in writing) else 0
    if args.only:
        # Steps of one run may each run in their own process, container or machine (sharing the
        # artifacts directory): the run's record is all the step records there, not this one alone.
        record = _merged_record(steps, args, run_dir)
    else:
        record["status"] = "failed" if status else "succeeded"
        record["finished"] = _now()
        _write_json(os.path.join(run_dir, "run.json"), record)
    _log("run %s %s; record: %s" % (args.run_id, record["status"], os.path.join(run_dir, "run.json")))
    return status


def _run_step(step, steps, values, args, run_dir, earlier):
    """Run one step; its record (.step.json), failed or not, and its outputs' files to write (_Writes)."""
    started = time.monotonic()
    entry = {
        "name": step.name,
        "status": "running",
        "started": _now(),
        "finished": None,
        "seconds": 0.0,
        "params": {name: _metric(args.params[name]) for name in step.params},
        "artifacts": [],
        "metrics": {},
    }
    files = []
    folder = os.path.join(run_dir, step.name)
    os.makedirs(folder, exist_ok=True)
    try:
        kwargs = {name: _input(values, name, producer, args, run_dir) for name, producer in step.inputs.items()}
        kwargs.update({name: args.params[name] for name in step.params})
        # Imported when it runs: a package only one step needs cannot stop the others.
        run = importlib.import_module(step.module).run
        passed_on = {}
        if earlier is not None:
            passed_on = _restore_random_states(earlier, args, run_dir)
            _replay_settings(earlier)
        outputs = run(**kwargs)
        if isinstance(outputs, types.CoroutineType):  # a step whose cells await at top level
            import asyncio

            outputs = asyncio.run(outputs)
        outputs = outputs or {}
        _save_random_states(args.state_out or folder, passed_on)
        values.update({(step.name, name): value for name, value in outputs.items()})
        for name, value in outputs.items():
            output_folder = args.outputs.get(name, folder)
            try:
                files.append(_ArtifactFile(output_folder, name, *_snapshot(value), run_dir, step.name))
            except _CannotSave as error:
                # Its file from an earlier save must go all the same (_Writes removes it).
                files.append(_ArtifactFile(output_folder, name, None, None, run_dir, step.name))
                # In one process the value still flows in memory; a step run alone has no one to hand it to.
                if args.only:
                    raise _StepError(_unsaved_message(step, steps, name, value, error)) from None
                _log("warning: output %r of step %r cannot be saved (%s); it is passed in memory only" % (name, step.name, error))
        entry["metrics"] = {name: _metric(outputs.get(name)) for name in step.metrics}
        if args.metrics_out:
            _write_json(args.metrics_out, entry["metrics"])
        entry["status"] = "succeeded"
    except _StepError as error:
        entry["status"] = "failed"
        entry["error"] = str(error)
        _log("error: %s" % error)
    except Exception as error:  # the run record must say which step failed and why
        import traceback

        entry["status"] = "failed"
        entry["error"] = "%s: %s" % (type(error).__name__, error)
        traceback.print_exc()
    entry["finished"] = _now()
    entry["seconds"] = round(time.monotonic() - started, 3)
    return entry, files


def _step_summary(entry):
    return {key: entry[key] for key in ("name", "status", "started", "finished", "seconds", "error") if key in entry}


def _unsaved_message(step, steps, name, value, reason):
    consumers = [other.name for other in steps if other.inputs.get(name) == step.name]
    if consumers:
        needed = "step %s reads it in another process" % ", ".join(repr(other) for other in consumers)
        together = [step.name] + consumers
        other_fix = "merge step %r into step %r" % tuple(together) if len(together) == 2 else "merge steps %s into one" % ", ".join(map(repr, together))
        other_fix += " (the same step:NAME tag on their cells)"
    else:
        needed = "the run records it as a metric"
        other_fix = "leave it out of the metrics cell"
    return "output %r of step %r cannot be saved (%s), and %s. Fix: make it picklable, e.g. %s, or %s." % (
        name, step.name, reason, needed, _picklable_hint(value), other_fix
    )


def _picklable_hint(value):
    """What usually makes a value of this kind picklable."""
    if hasattr(value, "__next__") or isinstance(value, types.AsyncGeneratorType):
        return "list(...) of it instead of a generator or iterator"
    qualname = getattr(value, "__qualname__", "")
    if isinstance(value, (types.FunctionType, types.MethodType)) and ("<lambda>" in qualname or "<locals>" in qualname):
        return "a function defined with def in a functions cell instead of a lambda or a function made inside a step"
    if isinstance(value, types.ModuleType):
        return "importing the module in the step that uses it instead of passing it"
    if hasattr(value, "close") or hasattr(value, "fileno"):
        return "opening the file or connection again in the step that uses it"
    return "keeping plain data in it (numbers, strings, lists, dicts, arrays, data frames) and building the rest where it is used"


def _merged_record(steps, args, run_dir):
    """run.json from every step record in the run directory, replaced atomically."""
    path = os.path.join(run_dir, "run.json")
    with _Lock(os.path.join(run_dir, ".run.json.lock")):
        entries = []
        for step in steps:
            try:
                with open(os.path.join(run_dir, step.name, _STEP_RECORD), encoding="utf-8") as handle:
                    entries.append(json.load(handle))
            except (OSError, ValueError):  # not run (yet), or written by an older runtime
                continue
        statuses = [entry.get("status") for entry in entries]
        if "failed" in statuses:
            status = "failed"
        elif len(entries) == len(steps) and all(s == "succeeded" for s in statuses):
            status = "succeeded"
        else:
            status = "partial"
        params = {name: _metric(value) for name, value in args.params.items()}
        for entry in entries:  # what each step ran with, when steps of the run were given different values
            params.update(entry.get("params", {}))
        record = {
            "run_id": args.run_id,
            "params": params,
            "status": status,
            "started": min((e["started"] for e in entries if e.get("started")), default=None),
            "finished": max((e["finished"] for e in entries if e.get("finished")), default=None),
            "steps": [_step_summary(entry) for entry in entries],
            "artifacts": [artifact for entry in entries for artifact in entry.get("artifacts", [])],
            "metrics": {name: value for entry in entries for name, value in entry.get("metrics", {}).items()},
        }
        _write_json(path, record)
    return record


class _Lock:
    """An exclusive lock between processes merging one run's record (none where fcntl is missing)."""

    def __init__(self, path):
        self.path = path
        self.handle = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:
            return self
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *_exc):
        if self.handle:
            self.handle.close()  # closing releases the lock


def _input(values, name, producer, args, run_dir):
    if (producer, name) in values:
        return values[(producer, name)]
    given = args.inputs.get(name)
    path = _given_input(given, name) if given else _find_artifact(args.artifacts, run_dir, producer, name)
    if path is None:
        raise _StepError(
            "input %r from step %r is not in memory and no earlier run has it; run step %r first, or pass --input %s=PATH"
            % (name, producer, producer, name)
        )
    _log("loading %s from %s" % (name, path))
    return _load(path)


def _given_input(path, name):
    """--input NAME=PATH: a file, or the directory an --output wrote (its one non-hidden file)."""
    if os.path.isdir(path):
        files = [f for f in os.listdir(path) if not f.startswith(".")]
        if len(files) != 1:
            raise _StepError("--input %s=%s: the directory holds %d files, expected the one an --output wrote" % (name, path, len(files)))
        return os.path.join(path, files[0])
    if not os.path.isfile(path):
        raise _StepError("--input %s=%s: no such file or directory" % (name, path))
    return path


def _find_artifact(artifacts, run_dir, producer, name):
    """This run's output first (where its step record says, else its folder), then the newest earlier run's."""
    wanted = _is_output(name)
    recorded = _recorded_artifact(run_dir, producer, name)
    if recorded:
        return recorded
    folder = os.path.join(run_dir, producer)
    if os.path.isdir(folder):
        for file_name in os.listdir(folder):
            if wanted(file_name):
                return os.path.join(folder, file_name)
    return _find_saved(artifacts, run_dir, producer, wanted)


def _is_output(name):
    return lambda file_name: any(file_name == name + ext for ext in _FORMATS)


def _recorded_artifact(run_dir, producer, name):
    try:
        with open(os.path.join(run_dir, producer, _STEP_RECORD), encoding="utf-8") as handle:
            entry = json.load(handle)
    except (OSError, ValueError):
        return None
    if entry.get("status") != "succeeded":
        return None
    for artifact in entry.get("artifacts", []):
        if artifact.get("name") == name:
            path = os.path.join(run_dir, artifact["path"])  # an absolute path stays as it is
            return path if os.path.isfile(path) else None
    return None


def _find_saved(artifacts, run_dir, producer, wanted):
    """The newest file of an earlier run (not this one) that the producer's folder holds."""
    candidates = []
    for run in os.listdir(artifacts):
        folder = os.path.join(artifacts, run, producer)
        if os.path.join(artifacts, run) == run_dir or not os.path.isdir(folder):
            continue
        for file_name in os.listdir(folder):
            if wanted(file_name):
                path = os.path.join(folder, file_name)
                candidates.append((os.path.getmtime(path), path))
    return max(candidates)[1] if candidates else None


# The global generators of random and numpy carry on from step to step in one process, as from
# cell to cell in the notebook; a step run on its own resumes them where the step before left
# them.
_RANDOM_STATE_FILES = {"random": ".random-state.pkl", "numpy": ".numpy-random-state.pkl"}


def _random_modules():
    """The generators in play: random always; numpy's only once something has imported numpy
    (importing it here would cost every step process a tenth of a second)."""
    found = {"random": importlib.import_module("random")}
    if "numpy" in sys.modules:
        found["numpy"] = sys.modules["numpy"].random
    return found


def _save_random_states(folder, passed_on):
    """The generators' states after the step; a state restored but not in play here (numpy not
    imported) is passed on as it came, for a later step that draws from it."""
    os.makedirs(folder, exist_ok=True)
    modules = _random_modules()
    for kind, module in modules.items():
        state = module.getstate() if kind == "random" else module.get_state()
        with open(os.path.join(folder, _RANDOM_STATE_FILES[kind]), "wb") as handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
    for kind, path in passed_on.items():
        target = os.path.join(folder, _RANDOM_STATE_FILES[kind])
        if kind not in modules and os.path.abspath(path) != os.path.abspath(target):
            with open(path, "rb") as source, open(target, "wb") as handle:
                handle.write(source.read())


def _restore_random_states(earlier_steps, args, run_dir):
    """Set the generators from --state-in, else from the nearest earlier step that saved them
    (this run first, then the newest earlier run). Returns the state files found."""
    found = {}
    if args.state_in and not os.path.isdir(args.state_in):
        raise _StepError("--state-in %s: no such directory" % args.state_in)
    for kind, file_name in _RANDOM_STATE_FILES.items():
        if args.state_in:
            path = os.path.join(args.state_in, file_name)
            path = path if os.path.isfile(path) else None
        else:
            path = _find_state(earlier_steps, args.artifacts, run_dir, file_name)
        if path:
            found[kind] = path
    modules = _random_modules()
    for kind, path in found.items():
        if kind == "random":
            modules[kind].setstate(_load(path))
        elif kind in modules:
            modules[kind].set_state(_load(path))
    return found


def _find_state(earlier_steps, artifacts, run_dir, file_name):
    for step in reversed(earlier_steps):
        path = os.path.join(run_dir, step.name, file_name)
        if os.path.isfile(path):
            return path
    for step in reversed(earlier_steps):
        path = _find_saved(artifacts, run_dir, step.name, lambda found: found == file_name)
        if path:
            return path
    return None


def _replay_settings(earlier_steps):
    """Logging, warning filters and display options the earlier steps set live in the process:
    a step run without them gets them replayed, in order."""
    for step in earlier_steps:
        if step.settings:
            try:
                module = importlib.import_module(step.module)
            except ImportError as error:  # that step's packages are not needed by this one
                _log("warning: settings of step %r not replayed (%s)" % (step.name, error))
                continue
            module.configure()


def _snapshot(value):
    """The file extension and bytes of one output, taken now: a later step may change the value in
    place while a thread writes them. _CannotSave says why the value cannot be saved."""
    kind = type(value).__module__.split(".", 1)[0]
    copy = _Copy()
    try:
        if kind == "numpy" and type(value).__name__ == "ndarray" and value.dtype != object:
            import numpy

            numpy.save(copy, value, allow_pickle=False)
            return ".npy", copy.parts
        # What DataFrame.to_pickle writes (pandas.read_pickle reads it), with equal values giving equal bytes.
        _Pickler(copy, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        return (".pandas.pkl" if kind == "pandas" and hasattr(value, "to_pickle") else ".pkl"), copy.parts
    except Exception as error:
        raise _CannotSave("%s: %s" % (type(error).__name__, error)) from error


class _Copy:
    """A file's bytes in memory. Copied as they come: pickle hands write() a view of a large
    buffer (a numpy array's own memory) rather than a copy."""

    def __init__(self):
        self.parts = []

    def write(self, data):
        part = bytes(data)
        self.parts.append(part)
        return len(part)


_ArtifactFile = namedtuple("_ArtifactFile", "folder name ext parts run_dir step")


class _Writes:
    """A thread writing and hashing a step's output files, then its record (.step.json) with their
    entries: the next step runs meanwhile. A file that cannot be written fails the step."""

    def __init__(self, entry, files, record_path):
        self.entry = entry
        self.failed = False
        self.thread = threading.Thread(target=self._write, args=(files, record_path), name="nb2prod-writes")
        self.thread.start()

    def _write(self, files, record_path):
        name = None
        try:
            while files:
                file = files.pop(0)  # its bytes are freed once written
                name = file.name
                artifact = _write_artifact(file)
                if artifact:
                    self.entry["artifacts"].append(artifact)
            name = None
            _write_json(record_path, self.entry)
        except Exception as error:
            what = "output %r" % name if name else "the record"
            self.entry["status"] = "failed"
            self.entry["error"] = "%s of step %r could not be written (%s: %s)" % (what, self.entry["name"], type(error).__name__, error)
            _log("error: " + self.entry["error"])
            self.failed = True
            if name:
                try:
                    _write_json(record_path, self.entry)
                except Exception:  # the run's record still says why
                    pass


def _write_artifact(file):
    """Write one output into its folder as <name>.<format>; its artifact entry (None for a value
    that could not be saved, whose file only goes)."""
    os.makedirs(file.folder, exist_ok=True)
    # One file per output in a folder: a value that changed kind since an earlier save must not
    # leave its old file for a later step (or --input DIR) to read.
    for ext in _FORMATS:
        stale = os.path.join(file.folder, file.name + ext)
        if os.path.lexists(stale):
            os.remove(stale)
    if file.parts is None:
        return None
    path = os.path.join(file.folder, file.name + file.ext)
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "wb") as handle:
            for part in file.parts:
                handle.write(part)
                digest.update(part)
                size += len(part)
    except BaseException:
        # A half-written file would be loaded by a later --only run as if it were the value.
        if os.path.exists(path):
            os.remove(path)
        raise
    return {"path": _record_path(path, file.run_dir), "sha256": digest.hexdigest(), "bytes": size, "step": file.step, "name": file.name}


class _Pickler(pickle.Pickler):
    """Pickle that writes equal values as equal bytes, whether they were computed or loaded.

    pickle writes an object met twice once, then refers back to it. numpy arrays of one dtype
    usually share one dtype object, but arrays loaded from a pickle each got their own: a data
    frame computed from a loaded one (a step run alone) would be written differently from the same
    frame computed in one process (the whole run), and its sha256 would differ. Here every array
    refers to the first dtype object of its kind the pickle met.
    """

    def __init__(self, handle, protocol):
        super().__init__(handle, protocol=protocol)
        self._protocol = protocol
        self._dtypes = {}

    def reducer_override(self, obj):
        numpy = sys.modules.get("numpy")
        if numpy is None or type(obj) is not numpy.ndarray:
            return NotImplemented
        dtype = obj.dtype
        if dtype.fields is not None or dtype.metadata is not None or dtype.subdtype is not None:
            return NotImplemented  # not told apart by .str alone
        first = self._dtypes.setdefault(dtype.str, dtype)
        if first is dtype:
            return NotImplemented
        reduced = list(obj.__reduce_ex__(self._protocol))
        for at in (1, 2):
            if at < len(reduced) and isinstance(reduced[at], tuple):
                reduced[at] = tuple(first if item is dtype else item for item in reduced[at])
        return tuple(reduced)


def _record_path(path, run_dir):
    """Relative to the run directory; absolute when --output put the file outside it."""
    try:
        relative = os.path.relpath(path, run_dir)
    except ValueError:  # another drive
        relative = None
    if relative is None or relative == ".." or relative.startswith(".." + os.sep):
        return os.path.abspath(path)
    return relative.replace(os.sep, "/")


def _load(path, file_name=None):
    """The value saved at path, in the format its file name says (file_name: the name it was saved
    under, when a store keeps it under another, e.g. its sha256)."""
    name = file_name or path
    if name.endswith(".npy"):
        import numpy

        return numpy.load(path, allow_pickle=False)
    if name.endswith(".pandas.pkl"):
        import pandas

        return pandas.read_pickle(path)
    with open(path, "rb") as handle:
        return pickle.load(handle)


def _metric(value):
    # numpy and torch scalars and arrays become Python numbers and lists (np.bool_ a bool, not 1).
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        value = value.item()
    elif hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(key): _metric(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_metric(item) for item in value]
    # JSON has no NaN or infinity: strict readers (JSON.parse, jq) would reject the whole record.
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    for convert in (int, float):
        try:
            if convert(value) == value:
                return convert(value)
        except (TypeError, ValueError):
            pass
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _write_json(path, data):
    """Replace path atomically: steps running in parallel read and rewrite run.json."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, default=repr)
        handle.write("\n")
    os.replace(temporary, path)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _log(message):
    print("[pipeline] " + message, file=sys.stderr, flush=True)
