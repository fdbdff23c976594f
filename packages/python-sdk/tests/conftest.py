"""Fixtures for tests against the real Ferry server that scripts/test.sh starts (FERRY_TEST_SERVER_URL):
its 'local' profile in FERRY_HOME, a `ferry:managed` pool on the process backend, and a git repository
of flows that runs clone."""

import json
import os
import subprocess
import uuid

import pytest

from ferry import FerryClient

FLOWS = {
    "flows/demo.py": '''from ferry import flow


@flow(name="demo")
def my_flow(rows: int = 3, label: str = "rows") -> dict:
    import six  # from the run's pip_packages

    return {"label": label, "sum": sum(range(rows)), "six": six.PY3}
''',
    "flows/slow.py": '''import time


def slow(seconds: float = 60):
    time.sleep(seconds)
''',
}


@pytest.fixture(scope="session")
def server_url():
    url = os.environ.get("FERRY_TEST_SERVER_URL")
    if not url:
        pytest.fail("no Ferry server: run these tests with packages/python-sdk/scripts/test.sh, which starts one")
    return url


@pytest.fixture(scope="session")
def client(server_url):
    return FerryClient()


@pytest.fixture(scope="session")
def profile(server_url):
    with open(os.path.join(os.environ["FERRY_HOME"], "profiles.json"), encoding="utf-8") as f:
        return json.load(f)["profiles"]["local"]


@pytest.fixture(scope="session")
def pool(client):
    name = "managed"
    client.request("POST", "/api/work-pools", body={"name": name, "type": "ferry:managed"})
    return name


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def repo(tmp_path_factory):
    path = tmp_path_factory.mktemp("flows-repo")
    for name, text in FLOWS.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", ".")
    git(path, "commit", "-qm", "flows")
    return path


@pytest.fixture
def unique():
    return f"t{uuid.uuid4().hex[:8]}"


def ferry_cli(*args, env=None):
    """The real CLI (FERRY_CLI, set by scripts/test.sh), for comparing its words with the SDK's."""
    command = os.environ["FERRY_CLI"].split() + list(args)
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1", **(env or {})})
