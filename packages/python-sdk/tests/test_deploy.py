"""Deploying from code and running deployments, against the real server (process backend)."""

import json

import pytest

from ferry import ConflictError, FlowRunTimeout, NotFoundError, ValidationError, flow, run_deployment

RUN_TIMEOUT = 600  # a loaded machine installs packages slowly; no speed is asserted


def test_the_issue_example_deploys_and_its_run_completes(repo, pool):
    deployment = flow.from_source(source=f"file://{repo}", entrypoint="flows/demo.py:my_flow").deploy(
        name="test-managed-flow", work_pool_name=pool, job_variables={"pip_packages": ["six"]}
    )
    assert deployment.action == "created"
    assert (deployment.flow_name, deployment.name, deployment.work_pool) == ("my-flow", "test-managed-flow", pool)
    assert deployment.source["git_url"] == f"file://{repo}"
    # The schema `ferry deploy` would give it, from the signature.
    assert deployment.parameter_schema == {
        "type": "object",
        "properties": {
            "rows": {"title": "rows", "type": "integer", "default": 3},
            "label": {"title": "label", "type": "string", "default": "rows"},
        },
        "additionalProperties": False,
    }

    run = run_deployment("my-flow/test-managed-flow", parameters={"rows": 5}, timeout=RUN_TIMEOUT)
    assert run.state.type == "COMPLETED", run.state.message
    assert run.result == {"label": "rows", "sum": 10, "six": True}
    assert run.created is True


def test_deploying_the_same_content_again_changes_nothing(repo, pool, unique):
    source = flow.from_source(source=f"file://{repo}", entrypoint="flows/demo.py:my_flow")
    first = source.deploy(name=unique, work_pool_name=pool, parameters={"rows": 2}, schedule="0 9 * * 1-5", timezone="Europe/Berlin")
    again = source.deploy(name=unique, work_pool_name=pool, parameters={"rows": 2}, schedule="0 9 * * 1-5", timezone="Europe/Berlin")
    assert (first.action, again.action, again.id) == ("created", "unchanged", first.id)
    assert [(s["cron"], s["timezone"], s["active"]) for s in again.schedules] == [("0 9 * * 1-5", "Europe/Berlin", True)]
    changed = source.deploy(name=unique, work_pool_name=pool, parameters={"rows": 3}, schedules=[{"interval": 3600}])
    assert changed.action == "updated"
    assert [s["interval"] for s in changed.schedules] == [3600]
    with pytest.raises(ConflictError) as caught:
        source.deploy(name=unique, work_pool_name=pool, idempotent=False)
    assert str(caught.value) == f"my-flow/{unique} exists already and idempotent=False; deploy with idempotent=True to update it, or choose another name"


def test_a_bad_work_pool_name_gets_the_clis_message(repo):
    with pytest.raises(NotFoundError) as caught:
        flow.from_source(source=f"file://{repo}", entrypoint="flows/demo.py:my_flow").deploy(name="x", work_pool_name="no-such-pool")
    assert caught.value.code == "not_found"
    assert str(caught.value) == (
        "my-flow/x: work pool 'no-such-pool' does not exist; create it with 'ferry work-pool create no-such-pool --type ferry:managed'; nothing was applied"
    )


def test_the_servers_own_errors_come_through_with_its_message(repo, pool, unique):
    source = flow.from_source(source=f"file://{repo}", entrypoint="flows/demo.py:my_flow")
    source.deploy(name=unique, work_pool_name=pool)
    # The parameter schema read from the signature: the server refuses a run with a mistyped parameter.
    with pytest.raises(ValidationError) as caught:
        run_deployment(f"my-flow/{unique}", parameters={"rows": "many"}, wait=False)
    assert caught.value.code == "validation_failed" and caught.value.status == 400
    assert "rows" in str(caught.value) and "integer" in str(caught.value)
    with pytest.raises(NotFoundError, match="deployment 'my-flow/nothing-here' was not found; list deployments with 'ferry deployment ls'"):
        run_deployment("my-flow/nothing-here")
    with pytest.raises(ValidationError, match="must be given as FLOW_NAME/DEPLOYMENT_NAME or as an id"):
        run_deployment("no-slash")
    with pytest.raises(ValidationError, match="must name a file and a function separated by ':'"):
        flow.from_source(source=f"file://{repo}", entrypoint="flows/demo.py")
    with pytest.raises(ValidationError, match="contains a password or token; store it with 'ferry credentials create NAME --type git'"):
        flow.from_source(source="https://user:secret@example.com/repo.git", entrypoint="flows/demo.py:my_flow")


def test_an_idempotency_key_returns_the_same_run_twice(repo, pool, unique, client):
    flow.from_source(source=f"file://{repo}", entrypoint="flows/demo.py:my_flow").deploy(name=unique, work_pool_name=pool, paused=True)
    first = run_deployment(f"my-flow/{unique}", parameters={"rows": 1}, idempotency_key=f"key-{unique}", wait=False)
    second = run_deployment(f"my-flow/{unique}", parameters={"rows": 1}, idempotency_key=f"key-{unique}", wait=False)
    assert (first.created, second.created, second.id) == (True, False, first.id)
    with pytest.raises(ConflictError) as caught:
        run_deployment(f"my-flow/{unique}", parameters={"rows": 2}, idempotency_key=f"key-{unique}", wait=False)
    assert caught.value.status == 409 and f"key-{unique}" in str(caught.value)
    client.request("POST", f"/api/flow-runs/{first.id}/cancel", body={})


def test_waiting_past_the_timeout_raises_with_the_run(repo, pool, unique, client):
    deployment = flow.from_source(source=f"file://{repo}", entrypoint="flows/slow.py:slow").deploy(name=unique, work_pool_name=pool)
    assert deployment.flow_name == "slow"
    with pytest.raises(FlowRunTimeout) as caught:
        run_deployment(deployment.id, parameters={"seconds": 120}, timeout=1, poll_interval=0.2)
    run = caught.value.run
    assert run.state.type not in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
    assert f"flow run '{run.name}' ({run.id}) of slow/{unique} is still" in str(caught.value)
    assert "after 1 s" in str(caught.value)
    client.request("POST", f"/api/flow-runs/{run.id}/cancel", body={})
    final = run_deployment(deployment.id, idempotency_key=f"once-{unique}", wait=False)
    client.request("POST", f"/api/flow-runs/{final.id}/cancel", body={})


def test_an_image_is_named_in_the_profiles_namespace(repo, pool, unique, profile, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "profiles.json").write_text(
        json.dumps(
            {"active": "cloud", "profiles": {"cloud": {**profile, "default_image_namespace": "registry.example.com/team/"}}}
        )
    )
    monkeypatch.setenv("FERRY_HOME", str(home))
    source = flow.from_source(source=f"file://{repo}", entrypoint="flows/demo.py:my_flow")
    named = source.deploy(name=unique, work_pool_name=pool, image="etl:v1", build=False)
    assert named.job_variables["image"] == "registry.example.com/team/etl:v1"
    # An image that names its registry is left as it is.
    other = source.deploy(name=f"{unique}-2", work_pool_name=pool, image="127.0.0.1:5000/etl:v1", build=False)
    assert other.job_variables["image"] == "127.0.0.1:5000/etl:v1"
    with pytest.raises(ValidationError, match="push=False"):
        source.deploy(name=unique, work_pool_name=pool, image="etl:v1", build=True, push=False)
