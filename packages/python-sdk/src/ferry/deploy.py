"""`flow.from_source(...).deploy(...)` and `run_deployment(...)`: what `ferry deploy` and
`ferry deployment run` do, from Python, with the same request bodies (PUT /api/deployments,
POST /api/deployments/{id}/runs)."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from .client import FerryClient, Record
from .errors import ConflictError, FerryError, FlowRunTimeout, ValidationError, error_for
from .schema import find_function, parameter_schema

TERMINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
_ENTRYPOINT_FUNCTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_EXTENSIONS = (".py", ".ts", ".mts", ".js", ".mjs")
_EMBEDDED_SECRET = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]*@", re.I)
_UNSET: Any = object()


@dataclass(frozen=True)
class GitRepository:
    """A deployment's code: a git repository, optionally a branch or commit, and the name of git credentials stored on the server."""

    url: str
    branch: Optional[str] = None
    commit: Optional[str] = None
    credentials: Optional[str] = None

    def to_source(self) -> dict:
        if _EMBEDDED_SECRET.match(self.url):
            raise ValidationError(
                "validation_failed",
                "the source's URL contains a password or token; store it with 'ferry credentials create NAME --type git' and pass "
                "source=GitRepository(url, credentials='NAME')",
            )
        source = {"git_url": self.url}
        for key in ("branch", "commit", "credentials"):
            if getattr(self, key):
                source[key] = getattr(self, key)
        return source


def _as_repository(source: Union[str, Mapping[str, Any], GitRepository]) -> GitRepository:
    if isinstance(source, GitRepository):
        return source
    if isinstance(source, Mapping):
        unknown = set(source) - {"git_url", "url", "branch", "commit", "credentials"}
        if unknown:
            raise ValidationError("validation_failed", f"source has unknown keys {', '.join(sorted(unknown))}; it takes git_url, branch, commit and credentials")
        url = source.get("git_url") or source.get("url")
        if not url:
            raise ValidationError("validation_failed", "source needs git_url, e.g. {'git_url': 'https://github.com/org/repo.git'}")
        return GitRepository(url, source.get("branch"), source.get("commit"), source.get("credentials"))
    if isinstance(source, str) and source:
        if "://" not in source and not re.match(r"^[\w.-]+@[\w.-]+:", source) and os.path.isdir(source):
            # A local clone: runs on this machine's server (the process backend) clone it by path.
            return GitRepository(pathlib.Path(os.path.abspath(source)).as_uri())
        return GitRepository(source)
    raise ValidationError("validation_failed", "source must be a git URL, a dict with git_url, or a GitRepository")


def check_entrypoint(entrypoint: str) -> tuple:
    """`path/to/file.py:function` split, with the messages of core's parseEntrypoint."""
    example = "use path/to/file.py:function or path/to/file.ts:function"
    if not isinstance(entrypoint, str) or not entrypoint.strip():
        raise ValidationError("validation_failed", f"entrypoint is required; {example}")
    path, colon, fn = entrypoint.rpartition(":")
    if not colon or not path or not fn:
        raise ValidationError("validation_failed", f"entrypoint '{entrypoint}' must name a file and a function separated by ':'; {example}")
    path = path.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise ValidationError("validation_failed", f"entrypoint '{entrypoint}' has an absolute path; give the file's path relative to the repository root")
    if ".." in path.split("/"):
        raise ValidationError("validation_failed", f"entrypoint '{entrypoint}' points outside the repository ('..'); give a path inside it")
    if not path.endswith(_EXTENSIONS):
        raise ValidationError("validation_failed", f"entrypoint '{entrypoint}' has an unsupported file type; use a .py, .ts, .mts, .js or .mjs file")
    if path.endswith(".py") and not _ENTRYPOINT_FUNCTION.match(fn):
        raise ValidationError("validation_failed", f"entrypoint '{entrypoint}': '{fn}' is not a valid function name")
    return re.sub(r"^\./", "", path), fn


def default_flow_name(entrypoint: str) -> str:
    """The flow name `ferry deploy` gives an entrypoint: its function's name, `_` as `-`."""
    fn = entrypoint[entrypoint.rfind(":") + 1 :]
    return fn[fn.rfind(".") + 1 :].replace("_", "-")


def schedules_of(schedule: Any = None, schedules: Optional[Iterable[Any]] = None, cron: Optional[str] = None,
                 interval: Optional[Union[int, float]] = None, rrule: Optional[str] = None, timezone: Optional[str] = None) -> Optional[list]:
    """The API's schedule list from what deploy() was given: a cron string, a dict, or a list of either."""
    given = []
    for item in ([schedule] if isinstance(schedule, (str, Mapping)) else list(schedule or [])) + list(schedules or []):
        if isinstance(item, str):
            given.append({"cron": item})
        elif isinstance(item, Mapping):
            given.append(dict(item))
        else:
            raise ValidationError("validation_failed", f"a schedule is a cron string or a dict such as {{'cron': '0 9 * * 1-5', 'timezone': 'Europe/Berlin'}}, not {type(item).__name__}")
    if cron is not None:
        given.append({"cron": cron})
    if interval is not None:
        given.append({"interval": int(interval)})
    if rrule is not None:
        given.append({"rrule": rrule})
    if timezone is not None:
        for item in given:
            if "interval" not in item:
                item.setdefault("timezone", timezone)
    return given if given or schedule is not None or schedules is not None else None


class SourcedFlow:
    """A flow in a repository, ready to deploy: what `flow.from_source(...)` gives."""

    def __init__(self, source: Union[str, Mapping[str, Any], GitRepository], entrypoint: str):
        self.repository = _as_repository(source)
        self.repository.to_source()  # refuses a URL with a token now, not at deploy time
        self.entrypoint = entrypoint
        self.path, self.function = check_entrypoint(entrypoint)

    def __repr__(self) -> str:
        return f"<SourcedFlow {self.entrypoint} from {self.repository.url}>"

    def deploy(
        self,
        name: str,
        work_pool_name: str,
        job_variables: Optional[Mapping[str, Any]] = None,
        parameters: Optional[Mapping[str, Any]] = None,
        schedule: Any = None,
        schedules: Optional[Sequence[Any]] = None,
        *,
        cron: Optional[str] = None,
        interval: Optional[Union[int, float]] = None,
        rrule: Optional[str] = None,
        timezone: Optional[str] = None,
        flow_name: Optional[str] = None,
        tags: Optional[Sequence[str]] = None,
        description: Optional[str] = None,
        paused: Optional[bool] = None,
        parameter_schema: Any = _UNSET,
        idempotent: bool = True,
        image: Optional[str] = None,
        build: bool = True,
        push: bool = True,
        platform: str = "linux/amd64",
        dockerfile: Optional[str] = None,
        requirements: Optional[str] = None,
        context: str = ".",
        client: Optional[FerryClient] = None,
    ) -> Record:
        """Creates or updates the deployment `FLOW/name` and returns it (with `action`: created, updated or unchanged).

        `idempotent=True` (the default) applies it as `ferry deploy` does: the same content twice changes
        nothing. `idempotent=False` refuses to touch a deployment that exists already.

        `image=` runs it on that image (its `image` job variable), named in the profile's default image
        namespace when it names no registry. With `build=True` the image is built and pushed first by the
        installed `ferry` CLI (the same build as `ferry deploy`'s `build` section, for `platform`).
        """
        client = client or FerryClient()
        body: dict = {
            "flow_name": flow_name or default_flow_name(self.entrypoint),
            "name": name,
            "work_pool": work_pool_name,
            "source": self.repository.to_source(),
            "entrypoint": self.entrypoint,
        }
        label = f"{body['flow_name']}/{name}"
        if job_variables:
            body["job_variables"] = dict(job_variables)
        if parameters:
            body["parameters"] = dict(parameters)
        found_schedules = schedules_of(schedule, schedules, cron, interval, rrule, timezone)
        if found_schedules is not None:
            body["schedules"] = found_schedules
        if tags:
            body["tags"] = list(tags)
        if description is not None:
            body["description"] = description
        if paused is not None:
            body["paused"] = paused
        if parameter_schema is _UNSET:
            schema = self._parameter_schema()
            if schema is not None:
                body["parameter_schema"] = schema
        else:
            body["parameter_schema"] = parameter_schema

        # The checks `ferry deploy` makes before it applies anything, worded the same way.
        _check_pool(client, label, work_pool_name)
        if not idempotent and client.find_deployment(body["flow_name"], name) is not None:
            raise ConflictError("conflict", f"{label} exists already and idempotent=False; deploy with idempotent=True to update it, or choose another name")

        if image is not None:
            from .images import build_with_cli, image_in_namespace

            target = image_in_namespace(image, client.settings)
            if build:
                if not push:
                    raise ValidationError(
                        "validation_failed",
                        "build=True with push=False: runs pull the image from a registry, so the CLI builds and pushes in one step; "
                        "build it yourself and pass build=False to deploy an image pushed before",
                    )
                return build_with_cli(body, target, platform=platform, dockerfile=dockerfile, requirements=requirements, context=context, settings=client.settings)
            body["job_variables"] = {**body.get("job_variables", {}), "image": target}

        result = client.apply_deployment(body)
        deployment = Record(result["deployment"])
        deployment["action"] = result["action"]
        return deployment

    def _parameter_schema(self) -> Optional[dict]:
        """The schema of the flow's signature, as `ferry deploy` reads it; None (with a warning) when the file cannot be read."""
        if not self.path.endswith(".py"):
            return None  # TypeScript and JavaScript signatures: `ferry deploy` reads those
        try:
            text = read_repository_file(self.repository, self.path)
        except FerryError as exc:
            warnings.warn(f"{exc.message}; the deployment gets no parameter schema (pass parameter_schema= to set one)", stacklevel=3)
            return None
        try:
            fn = find_function(text, self.function)
        except SyntaxError as exc:
            warnings.warn(f"{self.path} does not parse ({exc.msg}, line {exc.lineno}); the deployment gets no parameter schema", stacklevel=3)
            return None
        if fn is None:
            warnings.warn(f"{self.path} has no top-level function '{self.function}'; check the entrypoint (runs call it by that name)", stacklevel=3)
            return None
        return parameter_schema(fn)


def _check_pool(client: FerryClient, label: str, pool: str) -> None:
    try:
        client.get_work_pool(pool)
    except FerryError as exc:
        if exc.code != "not_found":
            raise
        raise error_for(
            "not_found",
            f"{label}: work pool '{pool}' does not exist; create it with 'ferry work-pool create {pool} --type ferry:managed'; nothing was applied",
            details=exc.details,
            status=exc.status,
        ) from None


def read_repository_file(repository: GitRepository, path: str, timeout: float = 120.0) -> str:
    """A file of the repository at the source's commit or branch: read from a local clone, else from a shallow clone."""
    if shutil.which("git") is None:
        raise ValidationError("validation_failed", "git is not installed, so the flow's file could not be read")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}

    def git(*args: str, cwd: Optional[str] = None) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ValidationError("validation_failed", f"reading {path} from {repository.url} took longer than {timeout:.0f} s") from None
        if done.returncode != 0:
            raise ValidationError("validation_failed", f"could not read {path} from {repository.url}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'git failed'}")
        return done.stdout

    if repository.url.startswith("file://"):
        rev = repository.commit or repository.branch or "HEAD"
        return git("show", f"{rev}:{path}", cwd=urllib.request.url2pathname(urllib.parse.urlparse(repository.url).path))
    with tempfile.TemporaryDirectory(prefix="ferry-source-") as work:
        args = ["clone", "--quiet", "--depth", "1", "--no-tags"]
        if repository.branch and not repository.commit:
            args += ["--branch", repository.branch]
        git(*args, repository.url, work)
        rev = "HEAD"
        if repository.commit:
            git("fetch", "--quiet", "--depth", "1", "origin", repository.commit, cwd=work)
            rev = repository.commit
        return git("show", f"{rev}:{path}", cwd=work)


def run_deployment(
    name_or_id: str,
    parameters: Optional[Mapping[str, Any]] = None,
    *,
    job_variables: Optional[Mapping[str, Any]] = None,
    idempotency_key: Optional[str] = None,
    tags: Optional[Sequence[str]] = None,
    flow_run_name: Optional[str] = None,
    wait: bool = True,
    timeout: Optional[float] = None,
    poll_interval: float = 1.0,
    client: Optional[FerryClient] = None,
) -> Record:
    """Runs a deployment (`FLOW/NAME` or its id) and returns the run.

    With `wait=True` (the default) it returns once the run is final (COMPLETED, FAILED, CRASHED or
    CANCELLED: look at `run.state.type`); past `timeout` seconds it raises FlowRunTimeout, whose `run`
    is the run as last read (it goes on). The same `idempotency_key` within 24 hours returns the run it
    made (`run.created` is False) instead of starting another.
    """
    client = client or FerryClient()
    deployment = client.resolve_deployment(name_or_id)
    body: dict = {}
    if parameters:
        body["parameters"] = dict(parameters)
    if job_variables:
        body["job_variables"] = dict(job_variables)
    if tags:
        body["tags"] = list(tags)
    if flow_run_name:
        body["name"] = flow_run_name
    if idempotency_key is not None:
        body["idempotency_key"] = idempotency_key
    result = client.create_flow_run(deployment["id"], body)
    run = Record(result["flow_run"])
    created = result["created"]
    run["created"] = created
    if not wait:
        return run
    deadline = None if timeout is None else time.monotonic() + timeout
    while run["state"]["type"] not in TERMINAL_STATES:
        if deadline is not None and time.monotonic() >= deadline:
            raise FlowRunTimeout(
                f"flow run '{run['name']}' ({run['id']}) of {deployment['flow_name']}/{deployment['name']} is still {run['state']['type']} after {timeout:g} s; "
                f"follow it with 'ferry flow-run logs {run['id']} --follow'",
                run,
            )
        time.sleep(poll_interval if deadline is None else max(0.0, min(poll_interval, deadline - time.monotonic())))
        run = Record(client.get_flow_run(run["id"]))
        run["created"] = created
    return run
