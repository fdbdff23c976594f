"""`@ferry.flow`: a name, retries and parameter checks for a flow function.

Ferry's engine runs any function, decorated or not; the decorator adds what a flow may want. The
decorated function stays callable with the same signature (`inspect.signature` sees the original's
through `__wrapped__`), so the engine, tests and other code call it as before.
"""

from __future__ import annotations

import asyncio
import collections.abc
import datetime
import functools
import inspect
import logging
import time
import types
import typing
import uuid
from typing import Any, Callable, Optional

log = logging.getLogger("ferry.flow")


class Flow:
    """A flow function with its name, retries and parameter checks. Call it like the function."""

    def __init__(self, fn: Callable, name: Optional[str] = None, retries: int = 0, retry_delay_seconds: float = 0,
                 validate_parameters: bool = True, description: Optional[str] = None):
        if not callable(fn):
            raise TypeError(f"@flow decorates a function, not {type(fn).__name__}")
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ValueError(f"retries must be a whole number of 0 or more, not {retries!r}")
        if not isinstance(retry_delay_seconds, (int, float)) or retry_delay_seconds < 0:
            raise ValueError(f"retry_delay_seconds must be a number of 0 or more, not {retry_delay_seconds!r}")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = name or fn.__name__.replace("_", "-")
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.validate_parameters = validate_parameters
        self.description = description if description is not None else inspect.getdoc(fn)
        self.is_async = inspect.iscoroutinefunction(fn)

    def __repr__(self) -> str:
        return f"<Flow {self.name!r} ({self.fn.__module__}.{self.fn.__qualname__})>"

    def __get__(self, instance, owner):
        # A flow defined in a class body is a method: bind it like a function would be.
        return self if instance is None else functools.partial(self.__call__, instance)

    def __call__(self, *args, **kwargs):
        if self.validate_parameters:
            validate_call(self.fn, self.name, args, kwargs)
        if self.is_async:
            return self._call_async(args, kwargs)
        for attempt in range(self.retries + 1):
            try:
                return self.fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - any failure of the flow's code is retried
                if attempt >= self.retries:
                    raise
                self._note_retry(attempt, exc)
                time.sleep(self.retry_delay_seconds)

    async def _call_async(self, args, kwargs):
        for attempt in range(self.retries + 1):
            try:
                return await self.fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                if attempt >= self.retries:
                    raise
                self._note_retry(attempt, exc)
                await asyncio.sleep(self.retry_delay_seconds)

    def _note_retry(self, attempt: int, exc: BaseException) -> None:
        log.warning("flow '%s' failed (attempt %d of %d): %s: %s; retrying in %s s",
                    self.name, attempt + 1, self.retries + 1, type(exc).__name__, exc, self.retry_delay_seconds)


def flow(fn: Optional[Callable] = None, *, name: Optional[str] = None, retries: int = 0, retry_delay_seconds: float = 0,
         validate_parameters: bool = True, description: Optional[str] = None):
    """Marks a flow: `@flow` or `@flow(name="etl", retries=2)`.

    Calling it checks the arguments against the function's type hints (a wrong type raises TypeError
    naming the parameter, the expected and the given type) and retries the call `retries` times when it
    raises, `retry_delay_seconds` apart.
    """
    options = dict(name=name, retries=retries, retry_delay_seconds=retry_delay_seconds, validate_parameters=validate_parameters, description=description)
    if fn is None:
        return lambda f: Flow(f, **options)
    return Flow(fn, **options)


# --- parameter checks from type hints


def validate_call(fn: Callable, flow_name: str, args: tuple, kwargs: dict) -> None:
    """Raises TypeError when the arguments do not fit `fn`'s signature or its type hints."""
    signature = inspect.signature(fn)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"flow '{flow_name}': the parameters do not fit {fn.__name__}{signature}: {exc}") from None
    try:
        hints = typing.get_type_hints(fn, include_extras=False)
    except Exception:  # noqa: BLE001 - an annotation that cannot be evaluated is not checked
        hints = {}
    for pname, value in bound.arguments.items():
        hint = hints.get(pname)
        if hint is None:
            continue
        kind = signature.parameters[pname].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            items = [(f"{pname}[{i}]", v) for i, v in enumerate(value)]
        elif kind is inspect.Parameter.VAR_KEYWORD:
            items = [(f"{pname}[{k!r}]", v) for k, v in value.items()]
        else:
            items = [(pname, value)]
        for label, v in items:
            problem = _mismatch(hint, v, label)
            if problem:
                raise TypeError(f"flow '{flow_name}': {problem}")


def _type_name(hint: Any) -> str:
    if hint is type(None):
        return "None"
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return repr(hint).replace("typing.", "")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _mismatch(hint: Any, value: Any, label: str) -> Optional[str]:
    """Why `value` does not fit `hint`, or None when it does (or when the hint cannot be checked)."""
    if hint is Any or isinstance(hint, typing.TypeVar) or hint is inspect.Parameter.empty:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    wrong = f"parameter '{label}' must be {_type_name(hint)}, got {type(value).__name__} ({_show(value)})"
    if origin is typing.Annotated:
        return _mismatch(args[0], value, label)
    if origin is typing.Union or isinstance(hint, getattr(types, "UnionType", ())):
        return None if any(_mismatch(a, value, label) is None for a in args) else wrong
    if origin is typing.Literal:
        return None if any(value == a and type(value) is type(a) for a in args) else f"parameter '{label}' must be one of {', '.join(map(repr, args))}, got {_show(value)}"
    if hint is None or hint is type(None):
        return None if value is None else wrong
    if hint is float:
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else wrong
    if hint is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else wrong
    if hint is complex:
        return None if isinstance(value, (int, float, complex)) and not isinstance(value, bool) else wrong
    if hint in (datetime.date, datetime.datetime, uuid.UUID):
        # A run's parameters are JSON: a date or id arrives as its ISO text.
        return None if isinstance(value, (hint, str)) else wrong
    if origin is None:
        if isinstance(hint, type):
            try:
                return None if isinstance(value, hint) else wrong
            except TypeError:
                return None
        return None  # a NewType, a forward reference left as text, a Protocol: not checked
    try:
        if not isinstance(value, origin):
            # A list where a tuple or set is declared: JSON has only lists.
            if not (isinstance(value, list) and origin in (tuple, set, frozenset)):
                return wrong
    except TypeError:
        return None
    if not args:
        return None
    if isinstance(value, collections.abc.Mapping):
        key_hint, value_hint = (args + (Any,))[:2] if len(args) >= 2 else (Any, Any)
        for k, v in value.items():
            problem = _mismatch(key_hint, k, f"{label} key") or _mismatch(value_hint, v, f"{label}[{k!r}]")
            if problem:
                return problem
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                return f"parameter '{label}' must be {_type_name(hint)} ({len(args)} items), got {len(value)} items"
            pairs = list(zip(args, value))
        else:
            pairs = [(args[0], v) for v in value]
        for i, (h, v) in enumerate(pairs):
            problem = _mismatch(h, v, f"{label}[{i}]")
            if problem:
                return problem
    return None
