"""A small client of Ferry's HTTP API (the routes of @ferry/core's route table this SDK uses), on urllib."""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping, Optional

from . import __version__
from .errors import STATUS_CODES, FerryError, ValidationError, error_for
from .settings import Settings, resolve_settings

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class Record(dict):
    """The API's JSON objects: a dict whose keys are also attributes (`run.state.type`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _records(value: Any) -> Any:
    if isinstance(value, dict):
        return Record((k, _records(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_records(v) for v in value]
    return value


class FerryClient:
    """Talks to one Ferry server. Without arguments it uses the CLI's settings (see `ferry.settings`)."""

    def __init__(self, api_url: Optional[str] = None, api_key: Optional[str] = None, profile: Optional[str] = None, timeout: float = 30.0,
                 settings: Optional[Settings] = None):
        self.settings = settings or resolve_settings(api_url=api_url, api_key=api_key, profile=profile)
        if not self.settings.api_url:
            raise ValidationError(
                "validation_failed",
                "the Ferry API URL is not set; set FERRY_API_URL (and FERRY_API_KEY), pass api_url=, or save a profile with 'ferry profile set NAME --api-url URL --api-key-stdin'",
            )
        self.api_url = self.settings.api_url.rstrip("/")
        self.timeout = timeout

    # --- the routes

    def get_work_pool(self, name: str) -> Record:
        return self.request("GET", f"/api/work-pools/{_quote(name)}")

    def apply_deployment(self, body: Mapping[str, Any]) -> Record:
        return self.request("PUT", "/api/deployments", body=body)

    def get_deployment(self, id: str) -> Record:
        return self.request("GET", f"/api/deployments/{_quote(id)}")

    def find_deployment(self, flow_name: str, name: str) -> Optional[Record]:
        page = self.request("GET", "/api/deployments", query={"flow_name": flow_name, "name": name})
        return page["items"][0] if page["items"] else None

    def resolve_deployment(self, ref: str) -> Record:
        """A deployment by id or by `flow_name/deployment_name`, as the CLI finds one."""
        if _UUID.match(ref):
            return self.get_deployment(ref)
        slash = ref.find("/")
        if slash <= 0 or slash == len(ref) - 1:
            raise ValidationError("validation_failed", f"deployment '{ref}' must be given as FLOW_NAME/DEPLOYMENT_NAME or as an id")
        found = self.find_deployment(ref[:slash], ref[slash + 1 :])
        if found is None:
            raise error_for("not_found", f"deployment '{ref}' was not found; list deployments with 'ferry deployment ls'")
        return found

    def create_flow_run(self, deployment_id: str, body: Mapping[str, Any]) -> Record:
        return self.request("POST", f"/api/deployments/{_quote(deployment_id)}/runs", body=body)

    def get_flow_run(self, id: str) -> Record:
        return self.request("GET", f"/api/flow-runs/{_quote(id)}")

    # --- the transport

    def request(self, method: str, path: str, body: Any = None, query: Optional[Mapping[str, Any]] = None) -> Any:
        url = self.api_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"accept": "application/json", "user-agent": f"ferry-python/{__version__}"}
        if self.settings.api_key:
            headers["authorization"] = f"Bearer {self.settings.api_key}"
        data = None
        if body is not None:
            headers["content-type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as exc:
            raise self._error_from(exc) from None
        except (socket.timeout, TimeoutError):
            raise self._with_hint(error_for("network", f"the Ferry server at {self.api_url} did not answer in time; check it is healthy (GET /readyz)")) from None
        except (urllib.error.URLError, ConnectionError) as exc:
            raise self._with_hint(
                error_for(
                    "network",
                    f"could not reach the Ferry server at {self.api_url}; start it with 'ferry server start' or set the right URL with FERRY_API_URL or api_url=",
                    details={"reason": str(getattr(exc, "reason", exc))},
                )
            ) from None
        return _records(json.loads(text)) if text else None

    def _error_from(self, exc: urllib.error.HTTPError) -> FerryError:
        try:
            payload = json.loads(exc.read() or b"null")
        except ValueError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str):
            made = error_for(error["code"], error["message"], details=error.get("details"), status=exc.code)
        else:
            code = STATUS_CODES.get(exc.code) or ("unavailable" if exc.code >= 500 else "internal")
            made = error_for(code, f"the server answered {exc.code} {exc.reason}", status=exc.code)
        return self._with_hint(made)

    def _with_hint(self, error: FerryError) -> FerryError:
        """What the server cannot know: where the URL or key came from (the CLI's hints, same words)."""
        s = self.settings
        if error.code in ("network", "unavailable"):
            error.hint = f"the URL {s.api_url} comes from {s.describe_source('api_url')}; is the server running there? Check with 'ferry profile inspect'"
        elif error.code == "unauthenticated" and s.api_key:
            error.hint = f"the API key comes from {s.describe_source('api_key')}; it may be revoked or belong to another server"
        elif error.code == "unauthenticated":
            error.hint = "no API key was sent; set FERRY_API_KEY, pass api_key=, or save one with 'ferry profile set NAME --api-key-stdin'"
        return error


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")
