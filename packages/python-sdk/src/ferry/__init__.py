"""Ferry from Python: deploy flows from code, run deployments, and mark flows.

    from ferry import flow
    flow.from_source(source="https://github.com/org/demo.git", entrypoint="flow.py:my_flow").deploy(
        name="test-managed-flow", work_pool_name="my-managed-pool", job_variables={"pip_packages": ["pandas"]})
"""

__version__ = "0.1.0"

from .client import FerryClient, Record  # noqa: E402
from .deploy import GitRepository, SourcedFlow, run_deployment  # noqa: E402
from .errors import (  # noqa: E402
    AuthenticationError,
    ConflictError,
    FerryError,
    FlowRunTimeout,
    NotFoundError,
    ServerUnavailableError,
    ValidationError,
)
from .flows import Flow, flow  # noqa: E402
from .settings import Settings, resolve_settings  # noqa: E402


def _from_source(source, entrypoint: str) -> SourcedFlow:
    """The flow `entrypoint` (`path/to/file.py:function`) of the repository `source`, ready to `.deploy(...)`."""
    return SourcedFlow(source, entrypoint)


# `flow.from_source(...)`, as Prefect spells it: the decorator carries it.
flow.from_source = _from_source  # type: ignore[attr-defined]
Flow.from_source = staticmethod(_from_source)  # type: ignore[attr-defined]

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "FerryClient",
    "FerryError",
    "Flow",
    "FlowRunTimeout",
    "GitRepository",
    "NotFoundError",
    "Record",
    "ServerUnavailableError",
    "Settings",
    "SourcedFlow",
    "ValidationError",
    "flow",
    "resolve_settings",
    "run_deployment",
]
