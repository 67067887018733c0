"""Runtime support for the generated pipeline (standard library only)."""
import argparse
import ast
import asyncio
import datetime
import hashlib
import importlib
import inspect
import json
import math
import os
import pickle
import secrets
import sys
import time
import traceback
from collections import namedtuple

Step = namedtuple("Step", "name module inputs outputs params metrics settings", defaults=(False,))


def display(*objects, **_kwargs):
    """Notebook display() outside Jupyter: print what the notebook showed as text, the repr."""
    for obj in objects:
        print(repr(obj))


def show_expected_error():
    """A cell tagged raises-exception failed, as the notebook expected: show the traceback and go on."""
    traceback.print_exc()


def notebook_globals():
    """globals() as the calling step's notebook code meant it: the module's names and the step's values, as they are now."""
    frame = sys._getframe(1)

    def namespace():
        names = dict(frame.f_globals)
        names.update((name, value) for name, value in frame.f_locals.items() if name != "globals")
        return names

    return namespace


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


def parse_args(argv, step_names, defaults):
    parser = argparse.ArgumentParser(description="Run the pipeline.")
    parser.add_argument("--only", choices=step_names, help="run this step only")
    parser.add_argument("--from", dest="start", choices=step_names, help="run from this step on")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="override a parameter"
    )
    parser.add_argument("--artifacts", default="artifacts", help="artifacts directory (default: artifacts)")
    parser.add_argument("--run-id", default=os.environ.get("NB2PROD_RUN_ID"), help="run id (default: generated)")
    args = parser.parse_args(argv)
    args.params = dict(defaults)
    for item in args.param:
        name, sep, text = item.partition("=")
        if not sep or name not in defaults:
            parser.error("unknown parameter %r; known: %s" % (name, ", ".join(sorted(defaults)) or "none"))
        try:
            args.params[name] = _coerce(text, defaults[name])
        except ValueError as expected:
            parser.error("parameter %r expects %s, got %r" % (name, expected, text))
    return args


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
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
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


def run_pipeline(steps, args):
    run_id = args.run_id or datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)
    run_dir = os.path.join(args.artifacts, run_id)
    os.makedirs(run_dir, exist_ok=True)
    names = [step.name for step in steps]
    first = names.index(args.only or args.start) if (args.only or args.start) else 0
    selected = steps[first:first + 1] if args.only else steps[first:]
    record = {
        "run_id": run_id,
        "params": {name: _metric(value) for name, value in args.params.items()},
        "status": "running",
        "started": _now(),
        "finished": None,
        "steps": [],
        "artifacts": [],
        "metrics": {},
    }
    values = {}
    status = 0
    for number, step in enumerate(selected, 1):
        _log("step %d/%d %s" % (number, len(selected), step.name))
        started = time.monotonic()
        entry = {"name": step.name, "status": "running", "seconds": 0.0}
        record["steps"].append(entry)
        try:
            kwargs = {name: _input(values, name, producer, args.artifacts, run_dir) for name, producer in step.inputs.items()}
            kwargs.update({name: args.params[name] for name in step.params})
            # Imported when it runs: a package only one step needs cannot stop the others.
            run = importlib.import_module(step.module).run
            if number == 1:
                _restore_random_states(steps[:first], args.artifacts, run_dir)
                _replay_settings(steps[:first])
            outputs = run(**kwargs)
            if inspect.iscoroutine(outputs):  # a step whose cells await at top level
                outputs = asyncio.run(outputs)
            outputs = outputs or {}
            _save_random_states(run_dir, step.name)
            values.update({(step.name, name): value for name, value in outputs.items()})
            for name, value in outputs.items():
                saved = _save(value, run_dir, step.name, name)
                if saved:
                    record["artifacts"].append(saved)
            for name in step.metrics:
                record["metrics"][name] = _metric(outputs.get(name))
            entry["status"] = "succeeded"
        except Exception as error:  # the run record must say which step failed and why
            entry["status"] = "failed"
            entry["error"] = "%s: %s" % (type(error).__name__, error)
            traceback.print_exc()
            status = 1
        entry["seconds"] = round(time.monotonic() - started, 3)
        if status:
            break
    record["status"] = "failed" if status else "succeeded"
    record["finished"] = _now()
    _write_json(os.path.join(run_dir, "run.json"), record)
    _log("run %s %s; record: %s" % (run_id, record["status"], os.path.join(run_dir, "run.json")))
    return status


def _input(values, name, producer, artifacts, run_dir):
    if (producer, name) in values:
        return values[(producer, name)]
    path = _find_artifact(artifacts, run_dir, producer, name)
    if path is None:
        raise RuntimeError(
            "input %r from step %r is not in memory and no earlier run has it; run step %r first" % (name, producer, producer)
        )
    _log("loading %s from %s" % (name, path))
    return _load(path)


def _find_artifact(artifacts, run_dir, producer, name):
    """The newest earlier run that saved this output."""
    return _find_saved(artifacts, run_dir, producer, lambda file_name: file_name.split(".", 1)[0] == name)


def _find_saved(artifacts, run_dir, producer, wanted):
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
# them. Named with a leading dot: no output can be called that.
_RANDOM_STATE_FILES = {"random": ".random-state.pkl", "numpy": ".numpy-random-state.pkl"}


def _random_modules():
    """The generators in play: random always; numpy's only once something has imported numpy."""
    found = {"random": importlib.import_module("random")}
    if "numpy" in sys.modules:
        found["numpy"] = sys.modules["numpy"].random
    return found


def _save_random_states(run_dir, step):
    folder = os.path.join(run_dir, step)
    os.makedirs(folder, exist_ok=True)
    for kind, module in _random_modules().items():
        state = module.getstate() if kind == "random" else module.get_state()
        with open(os.path.join(folder, _RANDOM_STATE_FILES[kind]), "wb") as handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _restore_random_states(earlier_steps, artifacts, run_dir):
    for kind, module in _random_modules().items():
        for step in reversed(earlier_steps):
            path = _find_saved(artifacts, run_dir, step.name, lambda file_name: file_name == _RANDOM_STATE_FILES[kind])
            if path:
                if kind == "random":
                    module.setstate(_load(path))
                else:
                    module.set_state(_load(path))
                break


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


def _save(value, run_dir, step, name):
    folder = os.path.join(run_dir, step)
    os.makedirs(folder, exist_ok=True)
    kind = type(value).__module__.split(".", 1)[0]
    path = None
    try:
        if kind == "numpy" and type(value).__name__ == "ndarray" and value.dtype != object:
            import numpy

            path = os.path.join(folder, name + ".npy")
            numpy.save(path, value, allow_pickle=False)
        elif kind == "pandas" and hasattr(value, "to_pickle"):
            path = os.path.join(folder, name + ".pandas.pkl")
            value.to_pickle(path)
        else:
            path = os.path.join(folder, name + ".pkl")
            with open(path, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # an unpicklable value still flows in memory within this run
        # A half-written file would be loaded by a later --only run as if it were the value.
        if path and os.path.exists(path):
            os.remove(path)
        _log("warning: output %r of step %r cannot be saved (%s); it is passed in memory only" % (name, step, error))
        return None
    digest, size = _hash(path)
    return {"path": os.path.relpath(path, run_dir).replace(os.sep, "/"), "sha256": digest, "bytes": size, "step": step, "name": name}


def _load(path):
    if path.endswith(".npy"):
        import numpy

        return numpy.load(path, allow_pickle=False)
    if path.endswith(".pandas.pkl"):
        import pandas

        return pandas.read_pickle(path)
    with open(path, "rb") as handle:
        return pickle.load(handle)


def _hash(path):
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


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
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, default=repr)
        handle.write("\n")
    os.replace(temporary, path)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _log(message):
    print("[pipeline] " + message, file=sys.stderr, flush=True)
