"""Google's OAuth2 token endpoint, emulated, and credentials that use it.

The emulator answers ``POST /token`` the way ``https://oauth2.googleapis.com/token`` does for the
two grants google-auth sends:

* ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (service accounts): the ``assertion`` JWT must
  be well formed, signed RS256, name an issuer, an audience, a scope and ``exp > iat``; when it
  was signed with a key made by :func:`service_account_info` the signature is verified too;
* ``refresh_token`` (``authorized_user`` credentials): ``client_id``, ``client_secret`` and
  ``refresh_token`` must be present;
* ``urn:ietf:params:oauth:grant-type:token-exchange`` (``external_account``, i.e. workload
  identity federation through STS): ``subject_token`` and ``subject_token_type`` must be present.

It answers ``{"access_token": "emu-token-<n>", "expires_in": 3600, "token_type": "Bearer"}``
(n counts up per emulator, so a test can see how many tokens were minted) and Google's
``{"error": ..., "error_description": ...}`` otherwise. Vertex endpoints of the emulator accept
exactly these tokens.

:func:`service_account_info` builds a service-account JSON (a fresh RSA key, made once per process
with ``cryptography``) whose ``token_uri`` points at the emulator::

    with emulator() as emu:
        creds = service_account_info(emu.url)
        polymodal.completion(model="vertex_ai/gemini-2.5-flash", vertex_credentials=creds,
                             api_base=emu.url, messages=[...])
"""

from __future__ import annotations

import base64
import functools
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from .base import Context, RecordedRequest
from .replies import JsonReply, Sendable

__all__ = [
    "TOKEN_LIFETIME",
    "TOKEN_PATH",
    "TOKEN_PREFIX",
    "authorized_user_credentials",
    "external_account_info",
    "is_emulator_token",
    "service_account_info",
    "service_account_json",
    "token_endpoint",
]

TOKEN_PATH = "/token"
TOKEN_PREFIX = "emu-token-"
TOKEN_LIFETIME = 3600
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
_KEY_ID = "emulator-key-1"


def is_emulator_token(token: str) -> bool:
    """Whether ``token`` is one the emulator's token endpoint issues."""
    return token.startswith(TOKEN_PREFIX) and token[len(TOKEN_PREFIX) :].isdigit()


@functools.lru_cache(maxsize=1)
def _key_pair() -> tuple[str, Any]:
    """(PEM private key, public key object): one 2048-bit RSA key per process."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def _token_uri(base_or_uri: str) -> str:
    uri = base_or_uri.rstrip("/")
    return uri if uri.endswith(TOKEN_PATH) else uri + TOKEN_PATH


def service_account_info(
    token_uri: str,
    *,
    project_id: str = "emulator-project",
    client_email: str | None = None,
) -> dict[str, str]:
    """A ``service_account`` credentials dict whose ``token_uri`` is ``<token_uri>/token``
    (pass the emulator's ``url``, or a full token URL)."""
    pem, _ = _key_pair()
    email = client_email or f"emulator@{project_id}.iam.gserviceaccount.com"
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": _KEY_ID,
        "private_key": pem,
        "client_email": email,
        "client_id": "100000000000000000000",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": _token_uri(token_uri),
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
        + email.replace("@", "%40"),
        "universe_domain": "googleapis.com",
    }


def service_account_json(token_uri: str, **kwargs: Any) -> str:
    """:func:`service_account_info` as a JSON string (the form the seed examples pass)."""
    return json.dumps(service_account_info(token_uri, **kwargs))


def authorized_user_credentials(token_uri: str, *, quota_project_id: str | None = None) -> Any:
    """``authorized_user`` credentials (``gcloud auth application-default login``'s kind) whose
    refreshes go to the emulator. A google-auth object, not a dict: google-auth always sends an
    authorized user's refresh token to Google's own token endpoint when loading the JSON form."""
    from google.oauth2.credentials import Credentials

    factory: Any = Credentials  # google-auth's constructors are untyped
    return factory(
        token=None,
        refresh_token="emulator-refresh-token",
        token_uri=_token_uri(token_uri),
        client_id="emulator-client.apps.googleusercontent.com",
        client_secret="emulator-client-secret",
        quota_project_id=quota_project_id,
    )


def external_account_info(token_uri: str, subject_token_file: str) -> dict[str, Any]:
    """An ``external_account`` (workload identity federation) credentials dict reading its
    subject token from ``subject_token_file`` and exchanging it at the emulator."""
    return {
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/123/locations/global/"
        "workloadIdentityPools/emulator-pool/providers/emulator-provider",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": _token_uri(token_uri),
        "credential_source": {"file": subject_token_file},
    }


# --------------------------------------------------------------------------- the endpoint


def _oauth_error(error: str, description: str, status: int = 400) -> JsonReply:
    return JsonReply({"error": error, "error_description": description}, status)


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _check_assertion(assertion: str) -> JsonReply | None:
    pieces = assertion.split(".")
    if len(pieces) != 3:
        return _oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token.")
    try:
        header = json.loads(_b64url(pieces[0]))
        claims = json.loads(_b64url(pieces[1]))
        signature = _b64url(pieces[2])
    except (ValueError, UnicodeDecodeError):
        return _oauth_error("invalid_grant", "Invalid JWT: could not decode the assertion.")
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return _oauth_error("invalid_grant", "Invalid JWT: could not decode the assertion.")
    if header.get("alg") != "RS256":
        return _oauth_error("invalid_grant", "Invalid JWT Signature.")
    for claim in ("iss", "aud", "iat", "exp"):
        if claim not in claims:
            return _oauth_error("invalid_grant", f"Invalid JWT: missing claim '{claim}'.")
    if not claims.get("scope") and not claims.get("target_audience"):
        return _oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    iat, exp = claims["iat"], claims["exp"]
    if not isinstance(iat, int | float) or not isinstance(exp, int | float) or exp <= iat:
        return _oauth_error(
            "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes)."
        )
    if exp < time.time() - 300:
        return _oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token.")
    ours = header.get("kid") == _KEY_ID and _key_pair.cache_info().currsize
    if ours and not _signature_ok(pieces, signature):
        return _oauth_error("invalid_grant", "Invalid JWT Signature.")
    return None


def _signature_ok(pieces: list[str], signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    _, public = _key_pair()
    signed = f"{pieces[0]}.{pieces[1]}".encode()
    try:
        public.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def token_endpoint(request: RecordedRequest, ctx: Context) -> Sendable:
    """Google's token endpoint: mint ``emu-token-<n>`` for a valid grant."""
    if request.method != "POST":
        return _oauth_error("invalid_request", "Only POST is supported.", 405)
    try:
        form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        form = {}
    grant = form.get("grant_type", "")
    if grant == _JWT_BEARER:
        problem = _check_assertion(form.get("assertion", ""))
        if problem is not None:
            return problem
    elif grant == "refresh_token":
        for field in ("client_id", "client_secret", "refresh_token"):
            if not form.get(field):
                return _oauth_error("invalid_request", f"Missing required parameter: {field}")
    elif grant == _TOKEN_EXCHANGE:
        for field in ("subject_token", "subject_token_type"):
            if not form.get(field):
                return _oauth_error("invalid_request", f"Missing required parameter: {field}")
    elif not grant:
        return _oauth_error("unsupported_grant_type", "Invalid grant_type: ")
    else:
        return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")
    token = f"{TOKEN_PREFIX}{ctx.next('oauth_token')}"
    body: dict[str, Any] = {
        "access_token": token,
        "expires_in": TOKEN_LIFETIME,
        "token_type": "Bearer",
    }
    if grant == _TOKEN_EXCHANGE:
        body["issued_token_type"] = "urn:ietf:params:oauth:token-type:access_token"
    return JsonReply(body, headers={"cache-control": "no-cache, no-store, max-age=0"})
