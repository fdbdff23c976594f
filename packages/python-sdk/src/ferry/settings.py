"""Where requests go: the CLI's profiles file and FERRY_* variables, read the way the CLI reads them.

`$FERRY_HOME/profiles.json` (default `~/.ferry`), written by `ferry server start` and `ferry profile set`:

    {"active": "local", "profiles": {"local": {"api_url": "…", "api_key": "…", "default_image_namespace": "…"}}}

Arguments win over FERRY_API_URL / FERRY_API_KEY / FERRY_PROFILE, which win over the file. A profile's
key goes only to that profile's own URL: pointing at another server never sends it the profile's key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional

from .errors import ValidationError

_PROFILE_KEYS = ("api_url", "api_key", "admin_token", "default_image_namespace")


@dataclass(frozen=True)
class Settings:
    api_url: Optional[str]
    api_key: Optional[str] = field(repr=False, default=None)
    profile_name: Optional[str] = None
    profiles_path: Optional[str] = None
    #: The profile's image namespace (e.g. `registry.example.com/ferry-flows`), saved by provisioning.
    default_image_namespace: Optional[str] = None
    #: Where each value came from: "argument", "env", "profile" or "none" (for hints after an error).
    sources: Mapping[str, str] = field(default_factory=dict)

    def describe_source(self, what: str) -> str:
        """Where `what` ("api_url" or "api_key") came from, worded as the CLI's hints word it."""
        source = self.sources.get(what, "none")
        variable = "FERRY_API_URL" if what == "api_url" else "FERRY_API_KEY"
        if source == "argument":
            return f"the {what} argument"
        if source == "env":
            return variable
        return f"profile '{self.profile_name}' ({self.profiles_path})"


def ferry_home(env: Mapping[str, str]) -> str:
    return env.get("FERRY_HOME") or os.path.join(os.path.expanduser("~"), ".ferry")


def read_profiles(path: str) -> dict:
    """The profiles file; a missing file is an empty one, a damaged one an error naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return {"active": None, "profiles": {}}

    def broken(why: str) -> ValidationError:
        return ValidationError("validation_failed", f"{path} is not a valid profiles file ({why}); fix it or delete it and run 'ferry profile set'")

    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise broken(str(exc)) from None
    if not isinstance(raw, dict):
        raise broken("not a JSON object")
    active = raw.get("active")
    profiles = raw.get("profiles") or {}
    if active is not None and not isinstance(active, str):
        raise broken("'active' must be a profile name")
    if not isinstance(profiles, dict):
        raise broken("'profiles' must be an object")
    out = {}
    for name, value in profiles.items():
        if not isinstance(value, dict):
            raise broken(f"profile '{name}' must be an object")
        profile = {}
        for key in _PROFILE_KEYS:
            v = value.get(key)
            if v is None:
                continue
            if not isinstance(v, str):
                raise broken(f"profiles.{name}.{key} must be a string")
            profile[key] = v
        out[name] = profile
    return {"active": active, "profiles": out}


def resolve_settings(
    api_url: Optional[str] = None,
    api_key: Optional[str] = None,
    profile: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
) -> Settings:
    """The settings of this process: arguments, then FERRY_* variables, then the profiles file."""
    env = os.environ if env is None else env
    home = ferry_home(env)
    path = os.path.join(home, "profiles.json")
    file = read_profiles(path)
    explicit = profile or env.get("FERRY_PROFILE") or None
    name = explicit or file["active"]
    chosen: dict = {}
    if name is not None:
        if name in file["profiles"]:
            chosen = file["profiles"][name]
        elif explicit is not None:
            names = ", ".join(file["profiles"])
            raise ValidationError(
                "validation_failed",
                f"profile '{explicit}' does not exist{f' (profiles: {names})' if names else ''}; "
                f"create it with 'ferry profile set {explicit} --api-url URL --api-key-stdin'",
            )

    def pick(argument, variable, from_profile):
        if argument:
            return argument, "argument"
        if variable:
            return variable, "env"
        if from_profile:
            return from_profile, "profile"
        return None, "none"

    url, url_source = pick(api_url, env.get("FERRY_API_URL"), chosen.get("api_url"))
    same_server = url_source == "profile" or (chosen.get("api_url") is not None and url is not None and url.rstrip("/") == chosen["api_url"].rstrip("/"))
    key, key_source = pick(api_key, env.get("FERRY_API_KEY"), chosen.get("api_key") if same_server else None)
    return Settings(
        api_url=url,
        api_key=key,
        profile_name=name if name in file["profiles"] else None,
        profiles_path=path,
        default_image_namespace=chosen.get("default_image_namespace") if same_server else None,
        sources={"api_url": url_source, "api_key": key_source},
    )
