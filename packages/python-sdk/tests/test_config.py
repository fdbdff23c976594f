"""Settings from the CLI's profiles file or FERRY_* variables, and errors worded as the CLI words them."""

import json
import os

import pytest

from conftest import ferry_cli
from ferry import AuthenticationError, FerryClient, ServerUnavailableError, ValidationError, resolve_settings


def write_profiles(home, data):
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "profiles.json"), "w", encoding="utf-8") as f:
        json.dump(data, f)


def test_the_active_profile_gives_url_key_and_namespace(tmp_path):
    home = str(tmp_path)
    write_profiles(home, {"active": "a", "profiles": {"a": {"api_url": "http://a:1", "api_key": "ka", "default_image_namespace": "reg.io/ns"},
                                                       "b": {"api_url": "http://b:2", "api_key": "kb"}}})
    s = resolve_settings(env={"FERRY_HOME": home})
    assert (s.api_url, s.api_key, s.profile_name, s.default_image_namespace) == ("http://a:1", "ka", "a", "reg.io/ns")
    assert s.sources == {"api_url": "profile", "api_key": "profile"}
    s = resolve_settings(env={"FERRY_HOME": home, "FERRY_PROFILE": "b"})
    assert (s.api_url, s.api_key) == ("http://b:2", "kb")
    assert resolve_settings(profile="b", env={"FERRY_HOME": home}).api_key == "kb"


def test_variables_win_over_the_profile_and_its_key_stays_with_its_server(tmp_path):
    home = str(tmp_path)
    write_profiles(home, {"active": "a", "profiles": {"a": {"api_url": "http://a:1/", "api_key": "ka"}}})
    s = resolve_settings(env={"FERRY_HOME": home, "FERRY_API_URL": "http://elsewhere:9"})
    assert (s.api_url, s.api_key, s.default_image_namespace) == ("http://elsewhere:9", None, None)
    s = resolve_settings(env={"FERRY_HOME": home, "FERRY_API_URL": "http://a:1"})
    assert s.api_key == "ka"  # the same server, written without the slash
    s = resolve_settings(env={"FERRY_HOME": home, "FERRY_API_KEY": "kenv"})
    assert (s.api_url, s.api_key, s.sources["api_key"]) == ("http://a:1/", "kenv", "env")
    s = resolve_settings(api_url="http://arg:3", api_key="karg", env={"FERRY_HOME": home, "FERRY_API_KEY": "kenv"})
    assert (s.api_url, s.api_key, s.sources["api_url"]) == ("http://arg:3", "karg", "argument")


def test_a_missing_profile_a_damaged_file_and_no_url_say_how_to_fix_them(tmp_path):
    home = str(tmp_path)
    write_profiles(home, {"active": None, "profiles": {"a": {"api_url": "http://a:1"}}})
    with pytest.raises(ValidationError) as caught:
        resolve_settings(env={"FERRY_HOME": home, "FERRY_PROFILE": "nope"})
    assert str(caught.value) == "profile 'nope' does not exist (profiles: a); create it with 'ferry profile set nope --api-url URL --api-key-stdin'"
    with pytest.raises(ValidationError, match="the Ferry API URL is not set; set FERRY_API_URL"):
        FerryClient(settings=resolve_settings(env={"FERRY_HOME": home}))
    with open(os.path.join(home, "profiles.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(ValidationError, match=r"profiles.json is not a valid profiles file \(.*\); fix it or delete it and run 'ferry profile set'"):
        resolve_settings(env={"FERRY_HOME": home})


def test_the_clis_profile_reaches_the_server(client, server_url):
    assert client.api_url == server_url
    assert client.settings.sources == {"api_url": "profile", "api_key": "profile"}
    assert client.request("GET", "/api/workspace")["name"] == "default"


def cli_lines(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    error = next(line[len("Error: "):] for line in lines if line.startswith("Error: "))
    hint = next((line[len("Hint: "):] for line in lines if line.startswith("Hint: ")), None)
    return error, hint


def test_a_wrong_key_from_the_environment_is_worded_as_the_cli_words_it(server_url, monkeypatch):
    monkeypatch.setenv("FERRY_API_KEY", "fy_not-a-real-key")
    with pytest.raises(AuthenticationError) as caught:
        FerryClient().get_work_pool("managed")
    assert caught.value.code == "unauthenticated" and caught.value.status == 401
    assert caught.value.hint == "the API key comes from FERRY_API_KEY; it may be revoked or belong to another server"
    cli = ferry_cli("work-pool", "inspect", "managed")
    assert cli.returncode == 3
    assert (caught.value.message, caught.value.hint) == cli_lines(cli)
    assert str(caught.value) == f"{caught.value.message}\nHint: {caught.value.hint}"


def test_an_unreachable_server_is_worded_as_the_cli_words_it(monkeypatch):
    monkeypatch.setenv("FERRY_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("FERRY_API_KEY", "fy_any")  # without a key the CLI stops before it connects
    with pytest.raises(ServerUnavailableError) as caught:
        FerryClient(timeout=5).get_work_pool("managed")
    assert caught.value.code == "network" and caught.value.retryable
    assert caught.value.hint == "the URL http://127.0.0.1:9 comes from FERRY_API_URL; is the server running there? Check with 'ferry profile inspect'"
    cli = ferry_cli("work-pool", "inspect", "managed")
    assert cli.returncode == 6
    message, hint = cli_lines(cli)
    assert hint == caught.value.hint
    assert message.startswith("could not reach the Ferry server at http://127.0.0.1:9; start it with 'ferry server start'")
