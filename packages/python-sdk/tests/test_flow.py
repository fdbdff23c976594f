"""@ferry.flow: names, retries and parameter checks from type hints (no server needed)."""

import asyncio
import inspect
from typing import Dict, List, Literal, Optional, Tuple, Union

import pytest

import ferry
from ferry import Flow, flow


def test_a_decorated_flow_is_called_like_the_function_and_keeps_its_signature():
    @flow
    def add_rows(a: int, b: int = 1) -> int:
        """Adds."""
        return a + b

    assert isinstance(add_rows, Flow)
    assert (add_rows.name, add_rows.retries, add_rows.description) == ("add-rows", 0, "Adds.")
    assert add_rows(2, b=3) == 5
    assert str(inspect.signature(add_rows)) == "(a: int, b: int = 1) -> int"
    assert add_rows.__name__ == "add_rows" and add_rows.__wrapped__(1) == 2
    assert flow(name="etl")(lambda: 1).name == "etl"
    assert ferry.flow is flow


def test_wrong_types_raise_a_type_error_naming_the_parameter():
    @flow(name="typed")
    def typed(n: int, ratio: float, names: List[str], scores: Dict[str, int], pair: Tuple[int, str],
              mode: Literal["fast", "slow"] = "fast", label: Optional[str] = None, either: Union[int, str] = 0):
        return n

    ok = dict(n=1, ratio=1, names=["a"], scores={"a": 1}, pair=[1, "x"])
    assert typed(**ok) == 1
    assert typed(**{**ok, "label": "x", "either": "y", "mode": "slow"}) == 1
    cases = {
        "n": ("1", "flow 'typed': parameter 'n' must be int, got str ('1')"),
        "ratio": (True, "flow 'typed': parameter 'ratio' must be float, got bool (True)"),
        "names": (["a", 2], "flow 'typed': parameter 'names[1]' must be str, got int (2)"),
        "scores": ({"a": "x"}, "flow 'typed': parameter 'scores['a']' must be int, got str ('x')"),
        "pair": ([1], "flow 'typed': parameter 'pair' must be Tuple[int, str] (2 items), got 1 items"),
        "mode": ("medium", "flow 'typed': parameter 'mode' must be one of 'fast', 'slow', got 'medium'"),
        "label": (3, "flow 'typed': parameter 'label' must be Optional[str], got int (3)"),
        "either": (1.5, "flow 'typed': parameter 'either' must be Union[int, str], got float (1.5)"),
    }
    for key, (value, message) in cases.items():
        with pytest.raises(TypeError) as caught:
            typed(**{**ok, key: value})
        assert str(caught.value) == message
    with pytest.raises(TypeError, match=r"flow 'typed': the parameters do not fit typed\(n: int.*missing a required argument: 'ratio'"):
        typed(n=1)
    with pytest.raises(TypeError, match="got an unexpected keyword argument 'nope'"):
        typed(**ok, nope=1)


def test_pep_604_unions_and_builtin_generics_are_checked():
    @flow
    def modern(ids: list[int], maybe: int | None = None):
        return ids

    assert modern([1, 2], maybe=None) == [1, 2]
    with pytest.raises(TypeError, match=r"parameter 'ids\[0\]' must be int, got str"):
        modern(["1"])
    with pytest.raises(TypeError, match="parameter 'maybe' must be int | None, got str"):
        modern([], maybe="x")


def test_validation_can_be_turned_off():
    @flow(validate_parameters=False)
    def loose(n: int):
        return n

    assert loose("x") == "x"


def test_retries_run_the_function_again_then_raise_the_last_error(caplog):
    calls = []

    @flow(retries=2, retry_delay_seconds=0)
    def flaky():
        calls.append(1)
        raise RuntimeError(f"attempt {len(calls)}")

    with pytest.raises(RuntimeError, match="attempt 3"):
        flaky()
    assert len(calls) == 3
    assert "flow 'flaky' failed (attempt 1 of 3): RuntimeError: attempt 1; retrying in 0 s" in caplog.text

    attempts = []

    @flow(retries=1)
    def second_time():
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first")
        return "ok"

    assert second_time() == "ok" and len(attempts) == 2


def test_async_flows_are_awaited_with_retries():
    attempts = []

    @flow(retries=1)
    async def later(n: int):
        attempts.append(n)
        if len(attempts) == 1:
            raise ValueError("first")
        return n * 2

    assert asyncio.run(later(4)) == 8
    with pytest.raises(TypeError, match="parameter 'n' must be int"):
        later("4")


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="retries must be a whole number of 0 or more"):
        flow(retries=-1)(lambda: 1)
    with pytest.raises(TypeError, match="@flow decorates a function"):
        Flow(3)
