"""The built-in sandbox Vendor API: a deterministic, fault-injecting stand-in for Ingram Micro.

One app, two ways in: a real HTTP/1.1 server on localhost (:meth:`Sandbox.serve`) and the same
app behind an in-process httpx transport (:meth:`Sandbox.transport`) for fast tests. The
sandbox can also say exactly what it serves (:meth:`Sandbox.ground_truth`,
:meth:`Sandbox.invalid_records`), so tests assert exact counts.

Clocks: the data and the ``Date`` header follow a *virtual* clock that starts at ``as_of``
12:00:00 UTC and moves only when records change (:meth:`Sandbox.mutate`, +1 minute by
default, or the ``change_calls`` fault), so identical configs give identical bytes. Token
expiry and rate-limit windows use real (monotonic) time.

Files: ``config.py`` (SandboxConfig, FaultConfig), ``world.py`` (generation),
``render.py`` (per-record JSON, invalid records; :class:`EndpointRenderer` serves a catalog
endpoint beyond the built-in three), ``mutate.py`` (changes "now"),
``faults.py`` (fault decisions), ``app.py`` (request handling), ``server.py`` (HTTP server
and httpx transport), ``cli.py`` (``vendorkit sandbox serve``).

Example:
    >>> from datetime import date
    >>> sb = Sandbox(SandboxConfig(seed=42, as_of=date(2026, 11, 1), scale=0.2))
    >>> sb.ground_truth("inventory").height
    500
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import polars as pl

from vendorkit import catalog
from vendorkit.endpoints import ENDPOINT_NAMES, get_endpoint
from vendorkit.errors import ConfigError
from vendorkit.sandbox.app import BASE_PATH, TOKEN_PATH, Response, SandboxApp
from vendorkit.sandbox.config import PRESETS, FaultConfig, SandboxConfig
from vendorkit.sandbox.render import BUILT_IN, EndpointRenderer, register_renderer, renderer_of
from vendorkit.sandbox.server import SandboxServer, SandboxTransport
from vendorkit.store import TABLE_SCHEMAS

__all__ = [
    "BASE_PATH",
    "GROUND_TRUTH_SCHEMAS",
    "PRESETS",
    "TOKEN_PATH",
    "EndpointRenderer",
    "FaultConfig",
    "Response",
    "Sandbox",
    "SandboxConfig",
    "SandboxServer",
    "SandboxTransport",
    "register_renderer",
]

#: The typed-table columns and dtypes of docs/ARCHITECTURE.md, in order: the store's own
#: definition (from the catalog), so the ground truth and ``load_*()`` never drift apart.
GROUND_TRUTH_SCHEMAS: Mapping[str, dict[str, pl.DataType]] = TABLE_SCHEMAS


class Sandbox:
    """A deterministic Vendor API world with its request handler.

    Args:
        config: what to generate and how to behave; defaults to ``SandboxConfig()``.

    Example:
        >>> sb = Sandbox(SandboxConfig(scale=0.2))
        >>> sb.served_record_count("orders")  # 400 orders, 3 invalid, 1 stale duplicate
        404
        >>> with sb.serve() as srv:
        ...     srv.base_url.endswith("/vendors/v1")
        True
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.app = SandboxApp(self.config)

    def __repr__(self) -> str:
        c = self.config
        return f"Sandbox(seed={c.seed}, as_of={c.as_of.isoformat()}, scale={c.scale})"

    @property
    def now(self) -> datetime:
        """The virtual clock: as_of 12:00 UTC, +1 minute per :meth:`mutate`."""
        return self.app.now

    def transport(self) -> httpx.BaseTransport:
        """An in-process httpx transport over this sandbox (no sockets).

        Example:
            >>> sb = Sandbox(SandboxConfig(scale=0.02))
            >>> client = httpx.Client(transport=sb.transport(), base_url="http://sandbox")
            >>> client.post(TOKEN_PATH, data={"grant_type": "client_credentials",
            ...     "client_id": "a", "client_secret": "b"}).json()["token_type"]
            'Bearer'
        """
        return SandboxTransport(self.app)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """Start the real HTTP server in a background thread (port 0 = a free port).

        Use it as a context manager (or call ``.stop()``).

        Example:
            >>> with Sandbox(SandboxConfig(scale=0.02)).serve() as srv:
            ...     httpx.get(srv.base_url + "/inventory").status_code
            401
        """
        return SandboxServer(self.app, host, port)

    def ground_truth(self, table: str) -> pl.DataFrame:
        """The clean world as a typed table of ARCHITECTURE.md, sorted by key.

        Duplicates served on purpose are resolved (the later ``lastUpdated``/``updatedAt``
        wins); invalid records are not included. Reflects :meth:`mutate` calls so far.

        Example:
            >>> Sandbox(SandboxConfig(scale=0.2)).ground_truth("orders").height
            400
        """
        served = {
            name: ep for ep in (get_endpoint(n) for n in self.app.endpoints) for name in ep.tables
        }
        if table not in served:
            raise ConfigError(
                f"unknown ground-truth table {table!r}; choose one of {', '.join(served)}"
            )
        ep = served[table]
        if ep.name in BUILT_IN:
            df: pl.DataFrame = getattr(self.app.world, table)
        else:
            df = renderer_of(ep.name).tables(self.app.world)[table]
        schema = GROUND_TRUTH_SCHEMAS[table]
        key = list(catalog.get_table(table).key)
        return df.select([pl.col(c).cast(t) for c, t in schema.items()]).sort(key)

    def invalid_records(self, endpoint: str) -> pl.DataFrame:
        """What this endpoint serves invalid on purpose: endpoint, key, field, reason, raw.

        Example:
            >>> sb = Sandbox(SandboxConfig(scale=0.2, invalid=2))
            >>> sb.invalid_records("inventory").height
            8
        """
        get_endpoint(endpoint)
        return self.app.served(endpoint).invalid

    def served_record_count(self, endpoint: str) -> int:
        """Records in a full listing of ``endpoint`` (clean + invalid + duplicates).

        Example:
            >>> Sandbox(SandboxConfig(scale=0.2, invalid=1)).served_record_count("inventory")
            504
        """
        get_endpoint(endpoint)
        return len(self.app.served(endpoint))

    def mutate(
        self,
        fraction: float = 0.01,
        endpoints: list[str] | tuple[str, ...] | None = None,
        *,
        advance: timedelta = timedelta(minutes=1),
    ) -> dict[str, int]:
        """Change records now: advance the virtual clock, then change ``fraction`` of records.

        Inventory quantities move (sales and receipts). Shipments advance one step
        (PROCESSING -> SHIPPED -> IN_TRANSIT -> DELIVERED, with a ship or delivered date).
        Orders take the steps that need no shipment (OPEN or ON_HOLD -> PROCESSING,
        DELIVERED -> CLOSED), and an order whose shipments changed gets the status they imply
        (e.g. DELIVERED once all are delivered), so orders and shipments stay consistent.
        Changed records get ``lastUpdated``/``updatedAt`` = the new virtual time. Returns how
        many records changed per endpoint (``orders`` includes the follow-on changes, also
        when only ``shipments`` was asked for).

        Example:
            >>> sb = Sandbox(SandboxConfig(scale=0.2))
            >>> sb.mutate(0.01, ["inventory"])
            {'inventory': 5}
        """
        if not 0.0 <= fraction <= 1.0:
            raise ConfigError(f"mutate(fraction={fraction!r}) must be between 0 and 1")
        eps = tuple(endpoints) if endpoints else tuple(ENDPOINT_NAMES)
        for ep in eps:
            get_endpoint(ep)
        if advance < timedelta(0):
            raise ConfigError("mutate(advance=...) must not move the clock backwards")
        return self.app.mutate(fraction, eps, advance)

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        """Per-endpoint counters (a snapshot): requests, status_codes, rate_limited,
        pages_served, records_served, faults. Keys: endpoint names, ``token``, ``other``.

        Example:
            >>> Sandbox(SandboxConfig(scale=0.02)).stats
            {}
        """
        return self.app.stats()

    def reset_stats(self) -> None:
        """Zero the counters in :attr:`stats`."""
        self.app.reset_stats()
