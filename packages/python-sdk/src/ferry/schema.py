"""The JSON Schema of a flow's parameters, read from its source with `ast` (never importing it).

The same schema `ferry deploy` gives a deployment (packages/client-node's python-schema.ts): annotations
by their typing names, literal defaults, `additionalProperties: false` unless the function takes
`**kwargs`. The server checks every run's parameters against it when the run is created.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any, Optional

_ARRAYS = {"list", "List", "tuple", "Tuple", "set", "Set", "frozenset", "FrozenSet", "AbstractSet", "MutableSet", "Sequence",
           "MutableSequence", "Iterable", "Collection", "deque", "Deque"}
_MAPPINGS = {"dict", "Dict", "Mapping", "MutableMapping", "OrderedDict", "defaultdict", "DefaultDict"}
_SIMPLE = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "None": {"type": "null"},
    "NoneType": {"type": "null"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "UUID": {"type": "string", "format": "uuid"},
}
_MAX_DEPTH = 8
_NOT_LITERAL = object()


def find_function(source: str, function: str) -> Optional[ast.AST]:
    """The `def` of `function` (dotted for a method of a class) at the top of `source`, or None."""
    body = ast.parse(source).body
    node = None
    for part in function.split("."):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part), None)
        if node is None:
            return None
        body = getattr(node, "body", [])
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def parameter_schema(fn: ast.AST) -> dict:
    """The schema of the keyword arguments a run can pass to `fn`."""
    args = fn.args
    positional = args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = list(zip(positional, defaults)) + list(zip(args.kwonlyargs, args.kw_defaults))
    properties: dict = {}
    required = []
    for arg, default in params:
        schema = _type_schema(arg.annotation, 0) if arg.annotation is not None else {}
        literal = _NOT_LITERAL if default is None else _literal(default)
        properties[arg.arg] = _property(arg.arg, schema, literal, default is not None)
        if default is None:
            required.append(arg.arg)
    out: dict = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    if args.kwarg is None:
        out["additionalProperties"] = False
    return out


def _property(name: str, schema: dict, literal: Any, has_default: bool) -> dict:
    if has_default and literal is None:
        schema = _allow_null(schema)
    out = {"title": name, **schema}
    if has_default and literal is not _NOT_LITERAL and _accepts(schema, literal):
        out["default"] = literal
    return out


def _allow_null(schema: dict) -> dict:
    if not schema or _accepts(schema, None):
        return schema
    if isinstance(schema.get("anyOf"), list):
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    out = dict(schema)
    if isinstance(schema.get("enum"), list):
        out["enum"] = [*schema["enum"], None]
    if isinstance(schema.get("type"), str):
        out["type"] = [schema["type"], "null"]
    elif isinstance(schema.get("type"), list):
        out["type"] = [*schema["type"], "null"]
    return out


def _union(options: list, nullable: bool) -> dict:
    rest = []
    for option in options:
        if option == {"type": "null"}:
            nullable = True
        elif list(option) == ["anyOf"]:
            rest.extend(option["anyOf"])
        else:
            rest.append(option)
    if any(not o for o in rest):
        return {}
    seen, unique = set(), []
    for o in rest:
        key = json.dumps(o, sort_keys=False)
        if key not in seen:
            seen.add(key)
            unique.append(o)
    if not unique:
        return {"type": "null"} if nullable else {}
    if len(unique) > 1 and all(list(o) == ["enum"] for o in unique):
        values = []
        for o in unique:
            values.extend(v for v in o["enum"] if v not in values)
        schema = {"enum": values}
    else:
        schema = unique[0] if len(unique) == 1 else {"anyOf": unique}
    return _allow_null(schema) if nullable else schema


def _name_of(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.List, datetime.date
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def _type_schema(node: ast.AST, depth: int) -> dict:
    if depth > _MAX_DEPTH:
        return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([_type_schema(o, depth + 1) for o in _flatten_or(node)], False)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a forward reference
        try:
            return _type_schema(ast.parse(node.value, mode="eval").body, depth + 1)
        except SyntaxError:
            return {}
    args: list = []
    base = node
    if isinstance(node, ast.Subscript):
        base = node.value
        inner = node.slice
        args = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
    name = _name_of(base)
    if name is None:
        return {}
    if not isinstance(node, ast.Subscript) and name in _SIMPLE:
        return dict(_SIMPLE[name])
    first = args[0] if args else None
    if name == "Optional":
        return _union([_type_schema(first, depth + 1)], True) if len(args) == 1 else {}
    if name == "Union":
        return _union([_type_schema(a, depth + 1) for a in args], False)
    if name == "Annotated":
        return _type_schema(first, depth + 1) if first is not None else {}
    if name == "Literal":
        values = _literal_values(args)
        unique = []
        for v in values or []:
            if v not in unique or type(v) is not type(unique[unique.index(v)]):
                unique.append(v)
        return {"enum": unique} if values else {}
    if name in _ARRAYS:
        if first is None:
            return {"type": "array"}
        if name in ("tuple", "Tuple"):
            ellipsis = len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis
            elements = [first] if ellipsis else args
            schemas = [json.dumps(_type_schema(e, depth + 1)) for e in elements]
            return _array_of(_type_schema(first, depth + 1)) if all(s == schemas[0] for s in schemas) else {"type": "array"}
        return _array_of(_type_schema(first, depth + 1))
    if name in _MAPPINGS:
        values = _type_schema(args[1], depth + 1) if len(args) > 1 else {}
        return {"type": "object", "additionalProperties": values} if values else {"type": "object"}
    return {}


def _array_of(items: dict) -> dict:
    return {"type": "array", "items": items} if items else {"type": "array"}


def _flatten_or(node: ast.AST) -> list:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flatten_or(node.left) + _flatten_or(node.right)
    return [node]


def _literal_values(args: list) -> Optional[list]:
    values = []
    for arg in args:
        if isinstance(arg, ast.Constant) and (arg.value is None or isinstance(arg.value, (str, int, float, bool))):
            values.append(arg.value)
        elif isinstance(arg, ast.Subscript) and _name_of(arg.value) == "Literal":
            inner = _literal_values(list(arg.slice.elts) if isinstance(arg.slice, ast.Tuple) else [arg.slice])
            if inner is None:
                return None
            values.extend(inner)
        else:
            return None
    return values


def _literal(node: ast.AST) -> Any:
    """A default's JSON value when it is a literal, else _NOT_LITERAL."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL
    return _json_value(value)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value if abs(value) <= 2**53 - 1 else _NOT_LITERAL
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else _NOT_LITERAL
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_json_value(v) for v in value]
        return _NOT_LITERAL if any(v is _NOT_LITERAL for v in items) else items
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return _NOT_LITERAL
        items = {k: _json_value(v) for k, v in value.items()}
        return _NOT_LITERAL if any(v is _NOT_LITERAL for v in items.values()) else items
    return _NOT_LITERAL


def _accepts(schema: dict, value: Any) -> bool:
    """Whether `value` fits `schema`, for the keywords these schemas use."""
    if isinstance(schema.get("anyOf"), list) and not any(_accepts(o, value) for o in schema["anyOf"]):
        return False
    if isinstance(schema.get("enum"), list) and not any(value == v and type(value) is type(v) for v in schema["enum"]):
        return False
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_has_type(t, value) for t in types):
            return False
    if "format" in schema and isinstance(value, str) and not _has_format(schema["format"], value):
        return False
    if isinstance(value, list):
        items = schema.get("items")
        return not items or all(_accepts(items, v) for v in value)
    if isinstance(value, dict):
        extra = schema.get("additionalProperties")
        return extra is None or all(_accepts(extra, v) for v in value.values())
    return True


def _has_type(t: str, value: Any) -> bool:
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool) or (isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "null":
        return value is None
    if t == "array":
        return isinstance(value, list)
    if t == "object":
        return isinstance(value, dict)
    return False


_DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def _has_format(fmt: str, value: str) -> bool:
    """The `date`, `date-time` (with a time zone) and `uuid` formats, as client-node's schema.ts checks them."""
    if fmt == "uuid":
        return re.match(r"^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$", value, re.I) is not None
    if fmt == "date":
        m = re.match(r"^(\d\d\d\d)-(\d\d)-(\d\d)$", value)
        if not m:
            return False
        year, month, day = (int(g) for g in m.groups())
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 1 <= month <= 12 and 1 <= day <= (29 if month == 2 and leap else _DAYS_IN_MONTH[month])
    if fmt == "date-time":
        parts = re.split(r"[tT\s]", value)
        time = re.match(r"^(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[zZ]|[+-](\d\d)(?::?(\d\d))?)$", parts[1]) if len(parts) == 2 else None
        return (
            time is not None
            and _has_format("date", parts[0])
            and int(time.group(1)) <= 23
            and int(time.group(2)) <= 59
            and int(time.group(3)) <= 59
            and int(time.group(4) or 0) <= 23
            and int(time.group(5) or 0) <= 59
        )
    return False
