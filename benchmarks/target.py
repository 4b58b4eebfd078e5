"""Where a contender fetches from: the sandbox server's URLs and the benchmark credentials."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

__all__ = ["Target", "correlation_id"]


@dataclass(frozen=True, slots=True)
class Target:
    """The Vendor API a contender loads from (the benchmark's sandbox server).

    Attributes:
        base_url: e.g. ``http://127.0.0.1:8765/vendors/v1``.
        token_url: the OAuth2 client-credentials token endpoint.
        client_id: benchmark client id (the sandbox accepts any).
        client_secret: benchmark client secret (not a real secret; never printed anyway).
        partner_id: ``IM-PartnerID`` header value.
        country_code: ``IM-CountryCode`` header value.

    Example:
        >>> t = Target("http://127.0.0.1:1/vendors/v1", "http://127.0.0.1:1/oauth/oauth30/token")
        >>> Target.from_json(t.to_json()) == t
        True
    """

    base_url: str
    token_url: str
    client_id: str = "bench"
    client_secret: str = "bench"
    partner_id: str = "US123456"
    country_code: str = "US"

    def to_json(self) -> str:
        """Serialise for a child process's command line."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Target:
        """Inverse of :meth:`to_json`."""
        return cls(**json.loads(text))

    def static_headers(self) -> dict[str, str]:
        """The Ingram headers every call carries, except the per-request correlation id.

        Example:
            >>> Target("http://h/v", "http://h/t").static_headers()["IM-CountryCode"]
            'US'
        """
        return {
            "IM-PartnerID": self.partner_id,
            "IM-CountryCode": self.country_code,
            "Accept": "application/json",
        }


def correlation_id() -> str:
    """A fresh ``IM-CorrelationID``: 32 hex characters (Ingram's limit is 32).

    Example:
        >>> len(correlation_id())
        32
    """
    return uuid.uuid4().hex
