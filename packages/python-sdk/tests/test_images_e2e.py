"""deploy(image=..., build=True, push=True): built and pushed by the real `ferry` CLI with Docker, to the
test registry (FERRY_TEST_REGISTRY), then deployed by digest on a push pool (a provider package the CLI's
own tests use, since a managed pool runs only the engine image). Run by `scripts/test.sh -m e2e`."""

import json
import os
import subprocess
import urllib.request
import uuid

import pytest

from ferry import flow

pytestmark = pytest.mark.e2e

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ACME = os.path.join(ROOT, "apps", "cli", "test", "acme-provider.ts")
REGISTRY = os.environ.get("FERRY_TEST_REGISTRY", "")


def missing_service():
    if not REGISTRY:
        return 'an image registry: export FERRY_TEST_REGISTRY="$(bash scripts/registry-up.sh)"'
    try:
        subprocess.run(["docker", "image", "inspect", "ferry-engine:latest"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return "Docker with the engine image: scripts/build-images.sh"
    return None


@pytest.fixture(scope="module")
def acme_server(tmp_path_factory):
    missing = missing_service()
    if missing:
        # CI provides every service: there a missing one fails instead of skipping.
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(f"needs {missing}")
    project = tmp_path_factory.mktemp("project")
    home = tmp_path_factory.mktemp("home")
    install = f"const m = await import({json.dumps(ACME)}); await m.installAcmeProvider({json.dumps(str(project))});"
    subprocess.run(["node", "--input-type=module", "-e", install], check=True, capture_output=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FERRY_") or k in ("FERRY_CLI",)},
        "FERRY_HOME": str(home),
        "FERRY_RUNNER": "none",
        "FERRY_STORE": "pglite",
        "FERRY_LOG_LEVEL": "warn",
        "FERRY_PROVIDERS": "@acme/ferry-provider",
        "FERRY_PROVIDER_OPTIONS": json.dumps({"@acme/ferry-provider": {"state": str(project / "cloud.json")}}),
    }
    server = subprocess.Popen(os.environ["FERRY_CLI"].split() + ["server", "start", "--port", "0"], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in server.stdout:
            if "Profile 'local' saved" in line:  # after the key, once the profile holds it
                break
        else:
            pytest.fail("the server with the acme provider did not start")
        profiles = json.loads((home / "profiles.json").read_text())
        profiles["profiles"]["local"]["default_image_namespace"] = f"{REGISTRY}/ferry-sdk"
        (home / "profiles.json").write_text(json.dumps(profiles))
        yield home, project, env
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_an_image_is_built_pushed_and_deployed_by_digest(acme_server, monkeypatch):
    home, project, env = acme_server
    for key in [k for k in os.environ if k.startswith("FERRY_") and k != "FERRY_CLI"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("FERRY_HOME", str(home))
    monkeypatch.setenv("FERRY_PROVIDER_OPTIONS", env["FERRY_PROVIDER_OPTIONS"])
    monkeypatch.chdir(project)
    (project / "requirements.txt").write_text("six\n")
    from ferry import FerryClient

    FerryClient().request("POST", "/api/work-pools", body={"name": "pushy", "type": "acme:push"})
    tag = f"t{uuid.uuid4().hex[:10]}"
    try:
        deployment = flow.from_source(source="https://github.com/acme/flows.git", entrypoint="flow.py:hello").deploy(
            name="built", work_pool_name="pushy", image=f"sdk-e2e:{tag}", build=True, push=True, platform="linux/amd64",
            parameter_schema=None,
        )
        assert deployment.action == "created"
        assert deployment.image["tag"] == f"{REGISTRY}/ferry-sdk/sdk-e2e:{tag}"
        assert deployment.job_variables["image"] == deployment.image["reference"]
        assert deployment.job_variables["image"].startswith(f"{REGISTRY}/ferry-sdk/sdk-e2e@sha256:")
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/ferry-sdk/sdk-e2e/tags/list", timeout=30) as response:
            assert tag in json.loads(response.read())["tags"]
    finally:
        subprocess.run(["docker", "image", "rm", "-f", f"{REGISTRY}/ferry-sdk/sdk-e2e:{tag}"], capture_output=True)
