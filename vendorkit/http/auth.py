"""OAuth2 client-credentials tokens for the Vendor API, cached until shortly before expiry.

Ingram Micro answers ``POST /oauth/oauth30/token`` (form-encoded ``grant_type``,
``client_id``, ``client_secret``) with ``{"access_token": ..., "expires_in": "86399"}``;
``expires_in`` is a string in some responses and a number in others. Refused credentials
get ``{"fault": {"faultstring": ..., "detail": {"errorcode": ...}}}``.

A token is used for at least :data:`MIN_TOKEN_LIFE_S` even when the server says
``expires_in: 0`` (the contract allows it), so a server cannot make vendorkit ask for a
token before every page. A server whose tokens really die sooner shows it with a 401: the
floor then drops to 80 % of the age at which a token was refused, so tokens are renewed
before that age from then on (and a refreshed token is never one older than that).

The client secret and the tokens never appear in logs, reprs or exception messages: every
token this provider was given is masked by :meth:`TokenProvider.redact`.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from vendorkit.errors import AuthError, redact

__all__ = ["MIN_TOKEN_LIFE_S", "TokenProvider", "describe_fault"]

logger = logging.getLogger("vendorkit.auth")

#: Token endpoint failures worth one more try (the token host hiccups like any other).
_TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
_TOKEN_ATTEMPTS = 3
#: The shortest time a token is used before it is refreshed (``expires_in`` 0, negative or
#: not a number included).
MIN_TOKEN_LIFE_S = 30.0
#: Tokens remembered for redaction (older ones are long expired).
_KEPT_TOKENS = 32


def describe_fault(body: bytes) -> str:
    """A short text from an Ingram error body (``fault`` or ``errors``), or ``""``.

    Example:
        >>> describe_fault(b'{"fault": {"faultstring": "Invalid client",'
        ...                b' "detail": {"errorcode": "oauth.v2.InvalidClient"}}}')
        'errorcode=oauth.v2.InvalidClient, faultstring=Invalid client'
        >>> describe_fault(b'{"errors": [{"message": "too many requests"}]}')
        'too many requests'
    """
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    fault = data.get("fault")
    if isinstance(fault, dict):
        detail = fault.get("detail")
        code = detail.get("errorcode") if isinstance(detail, dict) else None
        parts = []
        if code:
            parts.append(f"errorcode={code}")
        if fault.get("faultstring"):
            parts.append(f"faultstring={fault['faultstring']}")
        return ", ".join(parts)
    errors = data.get("errors")
    if isinstance(errors, list):
        messages = []
        for err in errors[:3]:
            if isinstance(err, dict):
                text = str(err.get("message") or err.get("type") or "")
                fields = err.get("fields")
                if isinstance(fields, list):
                    names = [str(f.get("field")) for f in fields if isinstance(f, dict)]
                    if names:
                        text += f" (fields: {', '.join(names)})"
                messages.append(text)
        return "; ".join(m for m in messages if m)
    return ""


class TokenProvider:
    """Fetches and caches a bearer token; thread-safe (one refresh at a time).

    Args:
        http: the shared ``httpx.Client``.
        token_url: the OAuth2 token URL.
        client_id: the application's client id.
        client_secret: the client secret (kept private; never logged).
        clock: monotonic clock, injectable for tests.

    Example:
        >>> def handler(request):
        ...     return httpx.Response(200, json={"access_token": "t0k3n", "expires_in": "3600"})
        >>> http = httpx.Client(transport=httpx.MockTransport(handler))
        >>> tokens = TokenProvider(http, "https://api.example.com/oauth/oauth30/token", "id", "s3cret")
        >>> tokens.token()
        't0k3n'
    """

    def __init__(
        self,
        http: httpx.Client,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self.__secret = client_secret
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._token: str | None = None
        self._issued: list[str] = []  # every token seen, newest last, for redaction
        self._refresh_at = 0.0
        self._issued_at = 0.0
        self._issued_times: dict[str, float] = {}
        self._floor = MIN_TOKEN_LIFE_S
        self.fetches = 0

    def __repr__(self) -> str:
        state = "cached" if self._token else "empty"
        return (
            f"TokenProvider(token_url={self._token_url!r}, client_id={self._client_id!r}, {state})"
        )

    def redact(self, text: str) -> str:
        """``text`` with the secret and every token issued so far masked."""
        return redact(text, self.__secret, *self._issued)

    def token(self, *, issued_after: float | None = None) -> str:
        """The cached token, fetching a new one if there is none or it is about to expire.

        Args:
            issued_after: after a 401, the time the refused request was sent: a cached token
                issued before then (by another thread) is not fresh enough, fetch another.
        """
        with self._lock:
            now = self._clock()
            stale = issued_after is not None and self._issued_at < issued_after
            aged = now - self._issued_at >= self._floor
            if self._token is None or stale or (now >= self._refresh_at and aged):
                self._token = None
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after a 401 (no-op if another thread already replaced it), and
        learn from its age how long this server's tokens really live."""
        with self._lock:
            issued = self._issued_times.get(token)
            if issued is not None:
                self._floor = min(self._floor, max(self._clock() - issued, 0.0) * 0.8)
            if self._token == token:
                self._token = None

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self.__secret,
        }
        response: httpx.Response | None = None
        for attempt in range(_TOKEN_ATTEMPTS):
            started = self._clock()
            try:
                response = self._http.post(
                    self._token_url, data=form, headers={"Accept": "application/json"}
                )
            except httpx.TransportError as exc:
                if attempt + 1 < _TOKEN_ATTEMPTS:
                    self._sleep(0.2 * 2**attempt)
                    continue
                raise AuthError(
                    f"could not reach the token endpoint {self._token_url} "
                    f"({type(exc).__name__}); check VENDORKIT_TOKEN_URL / VENDORKIT_BASE_URL "
                    "and your network, then retry"
                ) from exc
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "POST %s -> %d %.3fs",
                    self._token_url,
                    response.status_code,
                    self._clock() - started,
                )
            if response.status_code in _TRANSIENT_STATUSES and attempt + 1 < _TOKEN_ATTEMPTS:
                self._sleep(0.2 * 2**attempt)
                continue
            break
        assert response is not None
        self.fetches += 1
        if response.status_code != 200:
            fault = describe_fault(response.content)
            raise AuthError(
                self.redact(
                    f"the token endpoint {self._token_url} refused the credentials "
                    f"(HTTP {response.status_code}{', ' + fault if fault else ''}); "
                    "check VENDORKIT_CLIENT_ID and VENDORKIT_CLIENT_SECRET"
                )
            )
        try:
            payload: Any = json.loads(response.content)
            token = payload["access_token"]
            expires_in = float(payload.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthError(
                f"the token endpoint {self._token_url} answered 200 without a usable "
                "access_token/expires_in; check VENDORKIT_TOKEN_URL points at the OAuth2 "
                "token endpoint"
            ) from exc
        if not isinstance(token, str) or not token:
            raise AuthError(
                f"the token endpoint {self._token_url} returned an empty access_token; "
                "check VENDORKIT_TOKEN_URL"
            )
        if not math.isfinite(expires_in) or expires_in < 0:
            expires_in = 0.0
        # refresh a little before the server would expire it: 10% of the lifetime, <= 60 s;
        # but use every token for a while, whatever expires_in says (a 401 still refreshes)
        margin = min(60.0, expires_in * 0.1)
        self._token = token
        self._issued_at = self._clock()
        self._issued = [*self._issued[-(_KEPT_TOKENS - 1) :], token]
        self._refresh_at = self._issued_at + max(expires_in - margin, 0.0)
        self._issued_times = {t: self._issued_times.get(t, self._issued_at) for t in self._issued}
