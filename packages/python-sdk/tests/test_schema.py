"""The parameter schema read from a flow's signature is the one `ferry deploy` gives (client-node's
discoverFunctions, run with node), so deploying from Python or from the CLI gives one deployment."""

import json
import os
import subprocess

import pytest

from ferry.schema import find_function, parameter_schema

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CLIENT_NODE = os.path.join(ROOT, "packages", "client-node", "dist", "index.js")

SOURCE = '''
import datetime
from typing import Any, Dict, List, Literal, Optional, Tuple, Union
from ferry import flow

@flow(name="x")
def simple(name: str, count: int = 3, ratio: float = 0.5, on: bool = True, anything=None, untyped="u"):
    pass

async def collections(items: List[int], tags: list[str] = ["a"], table: Dict[str, float] = {}, pair: Tuple[int, int] = (1, 2),
                      mixed: tuple[int, str] = (1, "a"), anyseq: list = [], m: dict = {"k": 1}):
    pass

def unions(a: Optional[int] = None, b: int | None = None, c: Union[int, str] = "x", d: Literal["x", "y"] = "x",
           e: Literal[1, 2] | None = None, f: str = None, g: "List[int]" = None, h: Any = 1):
    pass

def dates(day: datetime.date, at: datetime.datetime, *args, key_only: int, start: datetime.date = "2026-02-28",
          bad: datetime.date = "2026-02-30", when: datetime.datetime = "2026-01-01T10:00:00Z", id: "UUID" = "0b4e7c1e-8f0a-4c8e-9d6a-2f1b3c4d5e6f", **kwargs):
    pass

def positional(a, /, b: int, *, c: str = "c"):
    pass

class Jobs:
    @staticmethod
    def nightly(day: str = "today"):
        pass
'''
NAMES = ["simple", "collections", "unions", "dates", "positional"]


def cli_schemas():
    script = (
        f"import {{ discoverFunctions }} from {json.dumps(CLIENT_NODE)};"
        "const text = require('node:fs').readFileSync(0, 'utf8');"
        "console.log(JSON.stringify(Object.fromEntries(discoverFunctions(text, 'python').map((f) => [f.name, f.parameterSchema]))));"
    )
    # `require` inside an ES module: give it one.
    script = "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" + script
    done = subprocess.run(["node", "--input-type=module", "-e", script], input=SOURCE, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(not os.path.exists(CLIENT_NODE), reason="packages/client-node is not built (npx turbo run build)")
def test_the_schema_is_the_one_ferry_deploy_gives():
    expected = cli_schemas()
    for name in NAMES:
        assert parameter_schema(find_function(SOURCE, name)) == expected[name], name


def test_a_few_schemas_by_hand():
    assert parameter_schema(find_function(SOURCE, "simple")) == {
        "type": "object",
        "properties": {
            "name": {"title": "name", "type": "string"},
            "count": {"title": "count", "type": "integer", "default": 3},
            "ratio": {"title": "ratio", "type": "number", "default": 0.5},
            "on": {"title": "on", "type": "boolean", "default": True},
            "anything": {"title": "anything", "default": None},
            "untyped": {"title": "untyped", "default": "u"},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    assert find_function(SOURCE, "Jobs.nightly") is not None
    assert find_function(SOURCE, "missing") is None
