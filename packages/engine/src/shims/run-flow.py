"""Runs one flow function for the Ferry engine.

    python run-flow.py FILE FUNCTION PARAMETERS_JSON RESULT_FILE ERROR_FILE

Imports FILE by path (its directory and the working directory on sys.path), calls FUNCTION with the
parameters as keyword arguments (awaiting it when it is a coroutine), and writes {"value": <result>}
as JSON to RESULT_FILE. When anything goes wrong it writes {"kind", "type", "message", "traceback"}
to ERROR_FILE instead, prints the traceback to stderr and exits with the kind's code below.
"""

# Only what every run needs before the flow's first line: the rest is imported where it is used
# (asyncio for a coroutine, the others for a result that is not plain JSON), since each import here
# delays the flow's start.
import importlib.util
import inspect
import json
import logging
import os
import sys
import traceback

EXIT_CODES = {
    "exception": 1,  # the flow's code raised
    "file_not_found": 2,
    "function_not_found": 3,
    "load_failed": 4,  # importing the file raised
    "bad_parameters": 5,  # the parameters do not fit the function's signature
    "result_not_serializable": 6,
}


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, allow_nan=False)
    os.replace(tmp, path)


def report(error_file, kind, exc_type, message, tb=""):
    write_json(error_file, {"kind": kind, "type": exc_type, "message": message, "traceback": tb})
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(EXIT_CODES[kind])


def report_exception(error_file, kind, exc):
    tb = traceback.format_exc()
    sys.stderr.write(tb)
    report(error_file, kind, type(exc).__name__, str(exc), tb)


def json_default(value):
    """Common non-JSON return values, written the way a reader expects them."""
    import dataclasses
    import datetime
    import decimal
    import uuid

    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    model_dump = getattr(value, "model_dump", None)  # pydantic v2
    if callable(model_dump):
        return model_dump(mode="json")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def is_flow_function(value, module_name):
    """A function the file defines, decorated (e.g. `@ferry.flow`, which keeps it in `__wrapped__`) or not."""
    fn = inspect.unwrap(value) if callable(value) and hasattr(value, "__wrapped__") else value
    return inspect.isfunction(fn) and fn.__module__ == module_name


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 64
    _, file, function, parameters_file, result_file, error_file = argv

    # The shim's own directory must not shadow the flow's modules.
    shim_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != shim_dir]
    # Ferry's Python SDK (import name `ferry`, for `@ferry.flow`) ships beside the shim: last on the path,
    # so a flow imports it without installing it and a version the run installs wins.
    sdk_dir = os.path.join(shim_dir, "python")
    if os.path.isdir(sdk_dir):
        sys.path.append(sdk_dir)
    # The run's level (FERRY_LOG_LEVEL in its env job variable, e.g. DEBUG); INFO when unset or unknown.
    level = os.environ.get("FERRY_LOG_LEVEL", "").strip().upper()
    level = level if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "INFO"
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")

    path = os.path.abspath(file)
    if not os.path.isfile(path):
        sys.stderr.write(f"ERROR the flow's file {file} was not found\n")
        report(error_file, "file_not_found", "FileNotFoundError", f"{file} was not found")

    with open(parameters_file, encoding="utf-8") as f:
        parameters = json.load(f)

    for directory in (os.getcwd(), os.path.dirname(path)):
        if directory not in sys.path:
            sys.path.insert(0, directory)
    stem = os.path.splitext(os.path.basename(path))[0]
    module_name = stem if stem.isidentifier() and stem not in sys.modules else "__ferry_flow__"
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {file}: not a Python module")
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs, as a normal import does: dataclasses and pickle look it up.
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - anything the import raises, SystemExit included
        report_exception(error_file, "load_failed", exc)

    target = module
    for part in function.split("."):
        if not hasattr(target, part):
            names = sorted(n for n, v in vars(module).items() if is_flow_function(v, module_name) and not n.startswith("_"))
            hint = f"; it defines: {', '.join(names)}" if names else "; it defines no functions"
            sys.stderr.write(f"ERROR function '{function}' was not found in {file}{hint}\n")
            report(error_file, "function_not_found", "AttributeError", f"function '{function}' was not found in {file}{hint}")
        target = getattr(target, part)
    fn = target
    if not callable(fn):
        report(error_file, "function_not_found", "TypeError", f"'{function}' in {file} is not a function")

    try:
        inspect.signature(fn).bind(**parameters)
    except TypeError as exc:
        message = f"the parameters do not fit {function}{inspect.signature(fn)}: {exc}"
        sys.stderr.write(f"ERROR {message}\n")
        report(error_file, "bad_parameters", "TypeError", message)
    except ValueError:
        pass  # builtins without a signature: let the call decide

    try:
        result = fn(**parameters)
        if inspect.isawaitable(result):
            import asyncio

            result = asyncio.run(_await(result))
    except SystemExit as exc:
        if exc.code not in (None, 0):
            report_exception(error_file, "exception", exc)
        result = None
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt on a stop is reported too
        report_exception(error_file, "exception", exc)

    try:
        write_json(result_file, {"value": json.loads(json.dumps(result, default=json_default, allow_nan=False))})
    except (TypeError, ValueError) as exc:
        message = f"the flow's return value cannot be stored as JSON: {exc}"
        sys.stderr.write(f"ERROR {message}\n")
        report(error_file, "result_not_serializable", type(exc).__name__, message)
    return 0


async def _await(awaitable):
    return await awaitable


if __name__ == "__main__":
    sys.exit(main(sys.argv))
