"""Images for deployments: named in the profile's namespace, built and pushed by the installed `ferry` CLI.

The build is `ferry deploy`'s own (a `build` section of a project file): the same generated Dockerfile
or the project's own, the same registry logins, the same refusal of an image whose architecture is not
the platform asked for. This module writes that project file for one deployment and runs the CLI.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from typing import Optional

from .client import Record
from .errors import FerryError, ValidationError, error_for
from .settings import Settings


def has_registry(image: str) -> bool:
    """Whether the first part of `image` names a registry (a dot, a port or localhost), as Docker reads it."""
    first, slash, _ = image.partition("/")
    return bool(slash) and (bool(re.search(r"[.:]", first)) or first == "localhost" or first.startswith("["))


def image_in_namespace(image: str, settings: Settings) -> str:
    """`image` in the profile's default image namespace (set by provisioning) when it names no registry."""
    namespace = settings.default_image_namespace
    if not namespace or has_registry(image):
        return image
    return f"{namespace.rstrip('/')}/{image}"


def cli_command(env: Optional[dict] = None) -> list:
    """The `ferry` CLI to run: FERRY_CLI (a command line, e.g. `node /path/ferry.js`), else `ferry` on PATH."""
    env = os.environ if env is None else env
    if env.get("FERRY_CLI"):
        return shlex.split(env["FERRY_CLI"])
    found = shutil.which("ferry")
    if not found:
        raise ValidationError(
            "validation_failed",
            "building an image needs the ferry CLI ('npm i -g @ferry/cli'), which is not on PATH; install it, set FERRY_CLI to its command, "
            "or deploy with build=False to use an image pushed before",
        )
    return [found]


def build_with_cli(body: dict, image: str, *, platform: str, dockerfile: Optional[str], requirements: Optional[str], context: str,
                   settings: Settings) -> Record:
    """Builds and pushes `image` for `platform` and applies the deployment `body` on it, with `ferry deploy`."""
    build: dict = {"image": image, "platform": platform, "context": os.path.abspath(context)}
    if dockerfile:
        build["dockerfile"] = dockerfile
    if requirements:
        build["requirements"] = requirements
    project = {"build": build, "deployments": [body]}
    env = dict(os.environ)
    # The settings this SDK resolved go to the CLI as variables, so both talk to the same server.
    if settings.api_url:
        env["FERRY_API_URL"] = settings.api_url
    if settings.api_key:
        env["FERRY_API_KEY"] = settings.api_key
    if settings.profile_name:
        env["FERRY_PROFILE"] = settings.profile_name
    with tempfile.TemporaryDirectory(prefix="ferry-deploy-") as work:
        path = os.path.join(work, "ferry.yaml")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(project, f)  # JSON is YAML
        command = [*cli_command(env), "deploy", "--file", path, "--json"]
        # From the caller's directory: the CLI finds provider plugins (registry logins) installed there.
        done = subprocess.run(command, cwd=os.getcwd(), env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        message = next((line[len("Error: "):] for line in lines if line.startswith("Error: ")), lines[-1] if lines else f"ferry deploy exited with {done.returncode}")
        hint = next((line[len("Hint: "):] for line in lines if line.startswith("Hint: ")), None)
        code = {3: "unauthenticated", 4: "not_found", 5: "conflict", 6: "network"}.get(done.returncode, "validation_failed")
        raise error_for(code, message, details={"exit_code": done.returncode, "output": done.stderr[-4000:]}, hint=hint)
    try:
        out = json.loads(done.stdout)
        result = out["deployments"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        raise FerryError("internal", f"ferry deploy answered what this SDK cannot read: {done.stdout[:500]!r}") from None
    deployment = Record(result["deployment"])
    deployment["action"] = result["action"]
    deployment["image"] = out.get("image")
    return deployment
