"""Google credentials for Vertex AI: where they come from, which project and location, and one
cached access token per credential, handed to httpx as an ``httpx.Auth``.

Credentials, first match wins (:func:`resolve_credentials`):

1. ``vertex_credentials``: a JSON string, a dict, a path to a JSON file (``service_account``,
   ``authorized_user``, ``external_account``, ... anything ``google.auth.load_credentials_from_dict``
   reads), or a google-auth ``Credentials`` object;
2. the file named by ``GOOGLE_APPLICATION_CREDENTIALS``;
3. application default credentials (``google.auth.default()``: gcloud's ADC file, the GCE/GKE/
   Cloud Run metadata server, ...).

Every credential is scoped to ``https://www.googleapis.com/auth/cloud-platform``. A credential
file's own ``token_uri`` is honoured (google-auth does this), so a service account whose
``token_uri`` points at :mod:`polymodal.testing` gets its tokens from the emulator.

Project (:func:`resolve_project`): ``vertex_project`` → ``polymodal.vertex_project`` →
``VERTEXAI_PROJECT`` → ``GOOGLE_CLOUD_PROJECT`` → the credential's own project. Location
(:func:`resolve_location`): ``vertex_location`` → ``polymodal.vertex_location`` →
``VERTEXAI_LOCATION`` → ``GOOGLE_CLOUD_LOCATION`` → ``us-central1`` (:data:`DEFAULT_LOCATION`;
``global``, ``us`` and ``eu`` are there for the models that need them). Code beats the
environment, so a value set in a program is not silently overridden by a shell variable.

Tokens: one :class:`GoogleCredentials` per credential identity (the fingerprint of the credential
JSON, the identity of a Credentials object, or "application default"), kept in a bounded LRU
dict (:data:`MAX_CACHED_CREDENTIALS` entries; the only module-level state here; keys are SHA-256
fingerprints, never secrets). A token is refreshed :data:`REFRESH_MARGIN` seconds before it
expires, by one caller at a time: a ``threading.Lock`` serialises refreshes (sync callers, worker
threads, several event loops); within an event loop, concurrent coroutines share one refresh,
which runs google-auth's blocking refresh in a thread (``asyncio.to_thread``). The token endpoint
is called through polymodal's pooled httpx client, not ``requests``.

Neither tokens nor private keys appear in any ``repr``, log line or exception text.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

import httpx

from polymodal.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    PolymodalError,
)

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.auth.transport import Request as GoogleRequest

__all__ = [
    "DEFAULT_LOCATION",
    "MAX_CACHED_CREDENTIALS",
    "REFRESH_MARGIN",
    "SCOPES",
    "GoogleAuth",
    "GoogleCredentials",
    "cached_credentials",
    "clear_cache",
    "resolve_credentials",
    "resolve_location",
    "resolve_project",
]

SCOPES: tuple[str, ...] = ("https://www.googleapis.com/auth/cloud-platform",)
REFRESH_MARGIN = 300.0
"""Seconds before expiry at which a cached token is replaced."""
MAX_CACHED_CREDENTIALS = 32
"""How many credential identities keep a cached token (least recently used ones are dropped)."""
DEFAULT_LOCATION = "us-central1"
TOKEN_TIMEOUT = 30.0
"""Seconds allowed for one call to a token endpoint (google-auth retries it itself)."""

Clock = Callable[[], float]

_LOCATION = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Key or token material: a long run of base64/url-safe characters with at least one digit
# (identifiers such as "external_account_authorized_user" stay readable).
_KEYLIKE = re.compile(r"(?=[A-Za-z0-9+/=_\-]*\d)[A-Za-z0-9+/=_\-]{24,}")
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]*$")


# --------------------------------------------------------------------------- transport


class _TokenResponse:
    """google-auth's ``transport.Response`` interface over an httpx response."""

    __slots__ = ("data", "headers", "status")

    def __init__(self, resp: httpx.Response) -> None:
        self.status = resp.status_code
        self.headers = dict(resp.headers)
        self.data = resp.content


class _TokenTransport:
    """google-auth's ``transport.Request`` interface over polymodal's pooled sync client."""

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _TokenResponse:
        from google.auth.exceptions import TransportError

        from polymodal.http import default_pool

        try:
            resp = default_pool.sync_client().request(
                method,
                url,
                content=body,
                headers=dict(headers or {}),
                timeout=timeout or TOKEN_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            host = httpx.URL(url).host
            err: Any = TransportError  # google-auth's exception classes are untyped
            raise err(f"{type(exc).__name__} talking to {host}") from None
        return _TokenResponse(resp)


# --------------------------------------------------------------------------- one credential


def _scrub(text: str) -> str:
    """Drop anything long enough to be key or token material from a library's error text."""
    return _KEYLIKE.sub("[...]", text)[:500]


def _expiry_seconds(expiry: datetime | None) -> float:
    if expiry is None:
        return math.inf
    if expiry.tzinfo is None:  # google-auth keeps naive UTC datetimes
        expiry = expiry.replace(tzinfo=timezone.utc)
    return expiry.timestamp()


class GoogleCredentials:
    """One credential identity and its cached access token (shared by every call that uses it).

    ``token()`` / ``atoken()`` return a token valid for at least ``margin`` more seconds,
    refreshing it first if needed; ``refreshes`` counts the refreshes done so far.
    ``clock`` (seconds since the epoch) is injectable for tests.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        kind: str = "credentials",
        label: str = "",
        project: str | None = None,
        fingerprint: str = "",
        clock: Clock | None = None,
        margin: float = REFRESH_MARGIN,
        source: object = None,
    ) -> None:
        self.credentials = credentials
        self.source = source  # the object the caller passed, when that was a Credentials object
        self.kind = kind
        self.label = label
        self.project = project
        self.fingerprint = fingerprint
        self.refreshes = 0
        self._clock: Clock = clock or time.time
        self._margin = margin
        self._lock = threading.Lock()
        self._inflight_lock = threading.Lock()
        self._inflight: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[str]] = (
            weakref.WeakKeyDictionary()
        )
        # (token, expiry in epoch seconds), replaced as a whole after each refresh.
        self._current: tuple[str, float] | None = None
        token = getattr(credentials, "token", None)
        if isinstance(token, str) and token:  # a Credentials object that already holds a token
            self._current = (token, _expiry_seconds(getattr(credentials, "expiry", None)))

    def __repr__(self) -> str:
        who = f" {self.label}" if self.label else ""
        fp = f" fp={self.fingerprint[:12]}" if self.fingerprint else ""
        state = "cached" if self._current is not None else "none"
        return f"<GoogleCredentials {self.kind}{who}{fp} token={state}>"

    @property
    def quota_project(self) -> str | None:
        """The billing/quota project to name in ``x-goog-user-project``, if the credential has one."""
        value = getattr(self.credentials, "quota_project_id", None)
        return value if isinstance(value, str) and value else None

    def _fresh(self, current: tuple[str, float] | None) -> str | None:
        if current is None:
            return None
        token, expiry = current
        return token if self._clock() < expiry - self._margin else None

    def token(self) -> str:
        """A valid access token (blocking refresh when needed)."""
        token = self._fresh(self._current)
        return token if token is not None else self._refresh(None)

    async def atoken(self) -> str:
        """A valid access token; concurrent coroutines of one loop wait for a single refresh."""
        token = self._fresh(self._current)
        return token if token is not None else await self._arefresh(None)

    def renew(self, rejected: str) -> str:
        """A new token after the server rejected ``rejected`` (unless one already replaced it)."""
        return self._refresh(rejected)

    async def arenew(self, rejected: str) -> str:
        return await self._arefresh(rejected)

    def _refresh(self, rejected: str | None) -> str:
        with self._lock:
            current = self._current
            if current is not None and current[0] != rejected:
                token = self._fresh(current)
                if token is not None:  # another caller refreshed while we waited
                    return token
            return self._fetch()

    async def _arefresh(self, rejected: str | None) -> str:
        loop = asyncio.get_running_loop()
        with self._inflight_lock:
            task = self._inflight.get(loop)
            if task is None:
                task = loop.create_task(asyncio.to_thread(self._refresh, rejected))
                self._inflight[loop] = task
                task.add_done_callback(self._done)
        return await asyncio.shield(task)

    def _done(self, task: asyncio.Task[str]) -> None:
        with self._inflight_lock:
            for loop, running in list(self._inflight.items()):
                if running is task:
                    del self._inflight[loop]
        if not task.cancelled():
            task.exception()  # retrieved here, so a refresh no one awaited anymore stays quiet

    def _fetch(self) -> str:
        """Call the token endpoint (with ``self._lock`` held)."""
        from google.auth import exceptions

        try:
            creds: Any = self.credentials
            creds.refresh(cast("GoogleRequest", _TokenTransport()))
        except exceptions.TransportError as exc:
            raise APIConnectionError(
                f"could not reach Google's token endpoint for {self._describe()}: {exc}"
            ) from None
        except (exceptions.GoogleAuthError, ValueError) as exc:
            raise AuthenticationError(
                f"Google did not issue an access token for {self._describe()}: "
                f"{type(exc).__name__}: {_scrub(str(exc))}"
            ) from None
        token = getattr(self.credentials, "token", None)
        if not isinstance(token, str) or not token:
            raise AuthenticationError(f"Google returned no access token for {self._describe()}")
        self._current = (token, _expiry_seconds(getattr(self.credentials, "expiry", None)))
        self.refreshes += 1
        return token

    def _describe(self) -> str:
        return f"{self.kind} {self.label}".strip()


# --------------------------------------------------------------------------- httpx.Auth


class GoogleAuth(httpx.Auth):
    """Sets ``Authorization: Bearer <token>`` (and ``x-goog-user-project`` when the credential
    names a quota project) from a shared :class:`GoogleCredentials`. If the server answers 401 to
    a cached token, the token is renewed once and the request sent again."""

    def __init__(
        self, credentials: GoogleCredentials, *, provider: str = "vertex_ai", model: str = ""
    ) -> None:
        self.credentials = credentials
        self.provider = provider
        self.model = model

    def __repr__(self) -> str:
        return f"GoogleAuth({self.credentials!r})"

    def _apply(self, request: httpx.Request, token: str) -> None:
        request.headers["Authorization"] = f"Bearer {token}"
        quota = self.credentials.quota_project
        if quota and "x-goog-user-project" not in request.headers:
            request.headers["x-goog-user-project"] = quota

    def _attribute(self, err: PolymodalError) -> PolymodalError:
        err.provider = err.provider or self.provider
        err.model = err.model or self.model or None
        return err

    async def aheaders(
        self, headers: Mapping[str, str], *, rejected: bool = False
    ) -> dict[str, str] | None:
        """Headers for ``polymodal.http``'s aiohttp fast path: what ``async_auth_flow`` does.

        ``rejected=True`` after a 401: renew the token once, or None when it cannot be renewed.
        """
        try:
            if not rejected:
                token = await self.credentials.atoken()
            else:
                sent = headers.get("Authorization", "").removeprefix("Bearer ")
                token = await self.credentials.arenew(sent)
                if token == sent:
                    return None
        except PolymodalError as err:
            if rejected:
                return None  # cannot renew (e.g. a bare token): the 401 stands
            raise self._attribute(err) from None
        out = {"Authorization": f"Bearer {token}"}
        quota = self.credentials.quota_project
        if quota and not any(k.lower() == "x-goog-user-project" for k in headers):
            out["x-goog-user-project"] = quota
        return out

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        try:
            token = self.credentials.token()
        except PolymodalError as err:
            raise self._attribute(err) from None
        self._apply(request, token)
        response = yield request
        if response.status_code != 401:
            return
        try:
            renewed = self.credentials.renew(token)
        except PolymodalError:
            return  # cannot renew (e.g. a bare token): the 401 stands
        if renewed != token:
            self._apply(request, renewed)
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        try:
            token = await self.credentials.atoken()
        except PolymodalError as err:
            raise self._attribute(err) from None
        self._apply(request, token)
        response = yield request
        if response.status_code != 401:
            return
        try:
            renewed = await self.credentials.arenew(token)
        except PolymodalError:
            return
        if renewed != token:
            self._apply(request, renewed)
            yield request


# --------------------------------------------------------------------------- the cache


class _Cache:
    """A bounded LRU dict: fingerprint -> GoogleCredentials."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, GoogleCredentials] = OrderedDict()

    def get(self, key: str) -> GoogleCredentials | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: GoogleCredentials) -> GoogleCredentials:
        """Store ``entry`` unless another thread stored one first; return the one kept."""
        with self._lock:
            existing = self._entries.get(key)
            if existing is not None:
                self._entries.move_to_end(key)
                return existing
            self._entries[key] = entry
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
            return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def entries(self) -> list[GoogleCredentials]:
        with self._lock:
            return list(self._entries.values())


_CACHE = _Cache(MAX_CACHED_CREDENTIALS)


def clear_cache() -> None:
    """Forget every cached credential and token (tests; after rotating a key)."""
    _CACHE.clear()


def cached_credentials() -> list[GoogleCredentials]:
    """The cached credentials, least recently used first (their reprs show no secret)."""
    return _CACHE.entries()


# --------------------------------------------------------------------------- resolution


def _fingerprint(info: Mapping[str, Any]) -> str:
    canonical = json.dumps(info, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _label(info: Mapping[str, Any]) -> str:
    email = info.get("client_email")
    return str(email) if isinstance(email, str) else ""


_AWS_SUBJECT_TOKEN_TYPE = "urn:ietf:params:aws:token-type:aws4_request"
_SUPPORTED_TYPES = (
    "service_account",
    "authorized_user",
    "external_account",
    "external_account_authorized_user",
    "impersonated_service_account",
)


def _load(info: Mapping[str, Any], kind: str) -> tuple[Credentials, str | None]:
    """google-auth's loader for exactly this credential type (google-auth deprecates the generic
    ``load_credentials_from_dict``, and its external-account path would call Google to look up
    the project). No network I/O happens here."""
    scopes = list(SCOPES)
    loader: Any
    if kind == "service_account":
        from google.oauth2 import service_account

        loader = service_account.Credentials.from_service_account_info
        project = info.get("project_id")
        return loader(dict(info), scopes=scopes), project if isinstance(project, str) else None
    if kind == "authorized_user":
        from google.oauth2 import credentials

        loader = credentials.Credentials.from_authorized_user_info
        return loader(dict(info), scopes=scopes), None
    if kind == "external_account":
        source = info.get("credential_source")
        if info.get("subject_token_type") == _AWS_SUBJECT_TOKEN_TYPE:
            from google.auth import aws

            loader = aws.Credentials.from_info
        elif isinstance(source, Mapping) and source.get("executable") is not None:
            from google.auth import pluggable

            loader = pluggable.Credentials.from_info
        else:
            from google.auth import identity_pool

            loader = identity_pool.Credentials.from_info
        return loader(dict(info), scopes=scopes), None
    if kind == "external_account_authorized_user":
        from google.auth import external_account_authorized_user

        loader = external_account_authorized_user.Credentials.from_info
        return loader(dict(info), scopes=scopes), None
    if kind == "impersonated_service_account":
        from google.auth import impersonated_credentials

        loader = impersonated_credentials.Credentials.from_impersonated_service_account_info
        return loader(dict(info), scopes=scopes), None
    raise ValueError(f"unsupported credential type; expected one of {', '.join(_SUPPORTED_TYPES)}")


def _from_info(info: Mapping[str, Any], origin: str, clock: Clock | None) -> GoogleCredentials:
    if not isinstance(info, Mapping) or not info:
        raise AuthenticationError(f"{origin} is not a Google credentials JSON object")
    key = "info:" + _fingerprint(info)
    entry = _CACHE.get(key)
    if entry is not None:
        return entry
    from google.auth import exceptions

    kind = str(info.get("type") or "unknown")
    try:
        creds, project = _load(info, kind)
    except (exceptions.GoogleAuthError, ValueError, TypeError, KeyError) as exc:
        raise AuthenticationError(
            f"{origin} could not be loaded as Google credentials (type {kind!r}): "
            f"{type(exc).__name__}: {_scrub(str(exc))}"
        ) from None
    own_project = info.get("project_id") or project or info.get("quota_project_id")
    entry = GoogleCredentials(
        creds,
        kind=kind,
        label=_label(info),
        project=str(own_project) if own_project else None,
        fingerprint=key[5:],
        clock=clock,
    )
    return _CACHE.put(key, entry)


def _from_json_text(text: str, origin: str, clock: Clock | None) -> GoogleCredentials:
    try:
        info = json.loads(text)
    except ValueError:
        # Never echo the value: it is a private key with a typo somewhere.
        raise AuthenticationError(f"{origin} looks like JSON but does not parse") from None
    return _from_info(info, origin, clock)


def _from_path(path: str | os.PathLike[str], origin: str, clock: Clock | None) -> GoogleCredentials:
    name = os.path.expanduser(os.fspath(path))
    if "\n" in name or len(name) > 4096:
        # Not a path: never echo it (it may be key material).
        raise AuthenticationError(f"{origin} is neither a file path nor credentials JSON")
    try:
        with open(name, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise AuthenticationError(
            f"{origin}: cannot read the credentials file {name!r} ({exc.strerror or exc})"
        ) from None
    try:
        info = json.loads(raw)
    except ValueError:
        raise AuthenticationError(f"{origin}: {name!r} is not a JSON credentials file") from None
    return _from_info(info, f"{origin} ({name!r})", clock)


def _from_object(creds: Credentials, clock: Clock | None) -> GoogleCredentials:
    # The entry keeps a reference to the object, so its id cannot be reused while cached.
    key = f"object:{id(creds)}"
    entry = _CACHE.get(key)
    if entry is not None and entry.source is creds:
        return entry
    from google.auth.credentials import with_scopes_if_required

    scope: Any = with_scopes_if_required
    scoped: Credentials = scope(creds, list(SCOPES))
    project = getattr(creds, "project_id", None)
    email = getattr(creds, "service_account_email", None)
    entry = GoogleCredentials(
        scoped,
        kind=type(creds).__name__,
        label=email if isinstance(email, str) else "",
        project=project if isinstance(project, str) and project else None,
        fingerprint=key,
        clock=clock,
        source=creds,
    )
    return _CACHE.put(key, entry)


def _from_default(clock: Clock | None) -> GoogleCredentials:
    key = "adc"
    entry = _CACHE.get(key)
    if entry is not None:
        return entry
    import google.auth
    from google.auth import exceptions

    try:
        creds, project = google.auth.default(scopes=list(SCOPES))
    except exceptions.GoogleAuthError as exc:
        raise AuthenticationError(
            "no Google credentials found: pass vertex_credentials=... (a service-account JSON "
            "string, dict or file path), set GOOGLE_APPLICATION_CREDENTIALS, or run "
            f"`gcloud auth application-default login` ({type(exc).__name__})"
        ) from None
    email = getattr(creds, "service_account_email", None)
    entry = GoogleCredentials(
        creds,
        kind="application_default",
        label=email if isinstance(email, str) else "",
        project=project or None,
        fingerprint=key,
        clock=clock,
    )
    return _CACHE.put(key, entry)


def _is_credentials_object(value: Any) -> bool:
    if isinstance(value, str | bytes | Mapping | os.PathLike) or value is None:
        return False
    from google.auth.credentials import Credentials

    return isinstance(value, Credentials)


def resolve_credentials(source: Any = None, *, clock: Clock | None = None) -> GoogleCredentials:
    """The shared :class:`GoogleCredentials` for ``source`` (a ``vertex_credentials`` value, or
    None for ``GOOGLE_APPLICATION_CREDENTIALS`` / application default credentials).

    ``clock`` applies only when a new cache entry is created. Raises ``AuthenticationError`` when
    no usable credential is found, ``BadRequestError`` for a value of the wrong type.
    """
    if source is None:
        path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if path and path.lstrip().startswith("{"):
            # The JSON itself rather than a path (some guides tell users to store it this way).
            return _from_json_text(path, "GOOGLE_APPLICATION_CREDENTIALS", clock)
        if path:
            return _from_path(path, "GOOGLE_APPLICATION_CREDENTIALS", clock)
        return _from_default(clock)
    if isinstance(source, Mapping):
        return _from_info(source, "vertex_credentials", clock)
    if isinstance(source, bytes):
        source = source.decode("utf-8", "replace")
    if isinstance(source, str):
        text = source.strip()
        if text.startswith("{"):
            return _from_json_text(text, "vertex_credentials", clock)
        if not text:
            raise BadRequestError(
                "vertex_credentials is an empty string", param="vertex_credentials"
            )
        return _from_path(text, "vertex_credentials", clock)
    if isinstance(source, os.PathLike):
        return _from_path(source, "vertex_credentials", clock)
    if _is_credentials_object(source):
        return _from_object(source, clock)
    raise BadRequestError(
        "vertex_credentials must be a JSON string, a dict, a path to a JSON file or a "
        f"google.auth.credentials.Credentials object, not {type(source).__name__}",
        param="vertex_credentials",
    )


# --------------------------------------------------------------------------- project, location


def _module_default(name: str) -> str | None:
    import polymodal

    value = getattr(polymodal, name, None)
    return value if isinstance(value, str) and value.strip() else None


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def resolve_project(explicit: str | None, credentials: GoogleCredentials | None = None) -> str:
    """``vertex_project`` → ``polymodal.vertex_project`` → ``VERTEXAI_PROJECT`` →
    ``GOOGLE_CLOUD_PROJECT`` → the credential's own project."""
    project = (
        (explicit.strip() if isinstance(explicit, str) and explicit.strip() else None)
        or _module_default("vertex_project")
        or _env("VERTEXAI_PROJECT", "GOOGLE_CLOUD_PROJECT")
        or (credentials.project if credentials is not None else None)
    )
    if not project:
        raise BadRequestError(
            "no Vertex AI project: pass vertex_project=..., set polymodal.vertex_project or "
            "VERTEXAI_PROJECT, or use credentials that name their project (project_id)",
            param="vertex_project",
        )
    if not _PROJECT.match(project):
        raise BadRequestError(
            f"vertex_project {project!r} is not a Google Cloud project id",
            param="vertex_project",
        )
    return project


def resolve_location(explicit: str | None) -> str:
    """``vertex_location`` → ``polymodal.vertex_location`` → ``VERTEXAI_LOCATION`` →
    ``GOOGLE_CLOUD_LOCATION`` → :data:`DEFAULT_LOCATION`."""
    location = (
        (explicit.strip() if isinstance(explicit, str) and explicit.strip() else None)
        or _module_default("vertex_location")
        or _env("VERTEXAI_LOCATION", "GOOGLE_CLOUD_LOCATION")
        or DEFAULT_LOCATION
    )
    if not _LOCATION.match(location):
        raise BadRequestError(
            f"vertex_location {location!r} is not a Google Cloud location "
            "(e.g. 'us-central1', 'europe-west4', 'global', 'us', 'eu')",
            param="vertex_location",
        )
    return location
