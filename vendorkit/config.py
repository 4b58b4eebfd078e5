"""Settings: one validated object read from the environment (prefix ``VENDORKIT_``).

A ``.env`` file in the working directory is read too. Secrets are :class:`SecretStr`, so
they print as ``**********`` in reprs and logs.

Source selection: with no ``VENDORKIT_CLIENT_ID`` / ``VENDORKIT_CLIENT_SECRET`` configured,
vendorkit talks to its built-in *sandbox* (and says so everywhere: CLI banner, the ``source``
field of every sync report, chart subtitles). With credentials it talks to ``base_url`` and
never falls back to the sandbox on error.
"""

from __future__ import annotations

import ipaddress
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
import pydantic
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vendorkit.errors import ConfigError

__all__ = [
    "PRODUCTION_BASE_URL",
    "SANDBOX_AS_OF",
    "SANDBOX_SEED",
    "Settings",
    "default_db_path",
    "describe_validation_error",
]

#: fields whose values are never quoted in an error message
_SECRET_FIELDS = frozenset({"client_secret", "client_id"})


def describe_validation_error(exc: pydantic.ValidationError) -> str:
    """One line naming each bad setting by its ``VENDORKIT_`` variable (secrets not echoed).

    Example:
        >>> try:
        ...     Settings(country_code="USA")
        ... except ConfigError as err:
        ...     print(err)
        invalid setting VENDORKIT_COUNTRY_CODE='USA': Value error, IM-CountryCode must be exactly 2 letters, e.g. 'US'; fix the environment variable, .env or argument
    """
    problems = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "settings"
        name = f"VENDORKIT_{field.upper()}"
        value = err.get("input")
        shown = "" if field in _SECRET_FIELDS or isinstance(value, dict) else f"={value!r}"
        problems.append(f"{name}{shown}: {err['msg']}")
    noun = "setting" if len(problems) == 1 else "settings"
    return f"invalid {noun} {'; '.join(problems)}; fix the environment variable, .env or argument"


PRODUCTION_BASE_URL = "https://api.ingrammicro.com/vendors/v1"
#: The sandbox world is fixed by (seed, as_of, scale) so notebooks are reproducible.
SANDBOX_SEED = 42
SANDBOX_AS_OF = date(2026, 11, 1)


def default_db_path() -> Path:
    """Where the DuckDB cache lives unless ``VENDORKIT_DB`` says otherwise.

    The platform's user data dir, e.g. ``~/.local/share/vendorkit/vendorkit.duckdb`` on Linux.

    Example:
        >>> default_db_path().name
        'vendorkit.duckdb'
    """
    return Path(platformdirs.user_data_dir("vendorkit", appauthor=False)) / "vendorkit.duckdb"


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1).

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("api.ingrammicro.com")
        (True, False)
    """
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """All vendorkit configuration.

    Every field can be set as ``VENDORKIT_<FIELD>`` in the environment or a ``.env`` file,
    or passed as a keyword argument.

    Invalid values raise :class:`~vendorkit.errors.ConfigError` naming the environment
    variable (``VENDORKIT_PAGE_SIZE``), never pydantic's own error.

    Example:
        >>> s = Settings(client_id="abc", client_secret="xyz", partner_id="US123456")
        >>> s.source, s.resolved_token_url
        ('api', 'https://api.ingrammicro.com/oauth/oauth30/token')
        >>> "xyz" in repr(s)
        False
        >>> Settings(page_size=500)
        Traceback (most recent call last):
        ...
        vendorkit.errors.ConfigError: invalid setting VENDORKIT_PAGE_SIZE=500: Input should be less than or equal to 100; fix the environment variable, .env or argument
    """

    model_config = SettingsConfigDict(
        env_prefix="VENDORKIT_", env_file=".env", extra="ignore", frozen=True
    )

    base_url: str = PRODUCTION_BASE_URL
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    partner_id: str = "US000000"
    country_code: str = "US"
    sender_id: str | None = None
    db: str | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    #: the Vendor API serves at most 100 records per page (API-NOTES); more is a 400
    page_size: int = Field(default=100, ge=1, le=100)
    max_retries: int = Field(default=6, ge=0, le=20)
    workers: int = Field(default=4, ge=1, le=32)
    archive_retention_syncs: int = Field(default=3, ge=0)
    #: seconds subtracted from the server's clock to make the next ``updatedSince``: every
    #: record stamped inside this window is read again by the next incremental sync
    cursor_overlap_s: float = Field(default=60.0, ge=0, le=86_400)
    # sandbox world, used only when source == "sandbox"
    sandbox_seed: int = SANDBOX_SEED
    sandbox_as_of: date = SANDBOX_AS_OF
    sandbox_scale: float = Field(default=1.0, gt=0)
    #: known-invalid records per kind the sandbox serves per endpoint (0 = none), as real
    #: payloads have them: the quarantine at work (``vendorkit rejects``, notebook 05)
    sandbox_invalid: int = Field(default=1, ge=0, le=1000)
    #: bounds against odd or hostile servers (see docs/client.md): records an endpoint may
    #: announce, one wait (Retry-After, X-RateLimit-Reset, pacing), one request from connect
    #: to the last body byte, and one response body (decoded)
    max_records: int = Field(default=50_000_000, ge=1)
    max_wait_s: float = Field(default=900.0, gt=0)
    request_deadline_s: float = Field(default=120.0, gt=0)
    max_page_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except pydantic.ValidationError as exc:
            raise ConfigError(describe_validation_error(exc)) from None

    @field_validator("country_code")
    @classmethod
    def _two_letters(cls, v: str) -> str:
        if len(v) != 2 or not v.isalpha():
            raise ValueError("IM-CountryCode must be exactly 2 letters, e.g. 'US'")
        return v.upper()

    @field_validator("sender_id", "partner_id")
    @classmethod
    def _max_32(cls, v: str | None) -> str | None:
        if v is not None and len(v) > 32:
            raise ValueError("Ingram Micro header values are at most 32 characters")
        return v

    @field_validator("base_url", "token_url")
    @classmethod
    def _https_or_loopback(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {v!r}")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError(
                f"refusing plain http:// to {parts.hostname}: credentials would travel "
                "unencrypted; use https:// (http is allowed only for loopback hosts)"
            )
        return v.rstrip("/")

    @property
    def source(self) -> Literal["sandbox", "api"]:
        """``"sandbox"`` when no credentials are configured, else ``"api"``."""
        return "api" if (self.client_id and self.client_secret) else "sandbox"

    @property
    def resolved_token_url(self) -> str:
        """The token URL: ``token_url`` or ``/oauth/oauth30/token`` on the base URL's host."""
        if self.token_url:
            return self.token_url
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}/oauth/oauth30/token"

    # kept as a property name analysts find in the docs
    @property
    def db_path(self) -> str:
        """The DuckDB file (or ``:memory:``) the store uses."""
        return self.db or str(default_db_path())

    def __repr_args__(self):  # type: ignore[no-untyped-def]
        return [(k, v) for k, v in super().__repr_args__() if k != "client_secret"] + [
            ("client_secret", "**********" if self.client_secret else None)
        ]
