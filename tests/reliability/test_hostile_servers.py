"""Issue 13: one test per row of its table of odd and hostile servers.

Each test serves the sandbox with the row's opt-in fault (``FaultConfig``) on a real localhost
socket, syncs through the public front door (``vendorkit.connect(db).sync``) into a store that
already holds a good sync, and asserts the bounded outcome: it stops (wall time under a
generous hang guard, not a performance bound), with the right error class and a message
naming the endpoint and what the server did, a bounded peak RSS for the body rows, the typed
tables unchanged, and neither the client secret nor any issued token in any output (exception
texts, DEBUG logs, the sync report, every text value of the store).

Measured figures (time to stop, error, peak RSS growth) are collected per row; with
``VENDORKIT_HOSTILE_RESULTS=path`` they are written to that Markdown file as a table.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

import vendorkit
from vendorkit.errors import (
    ConfigError,
    ContractError,
    RateLimitError,
    SyncError,
    TransportError,
    VendorkitError,
)
from vendorkit.sandbox import FaultConfig, SandboxConfig
from vendorkit.store import Store

from .helpers import CLIENT_SECRET, assert_same, served, snapshot
from .test_secrets import Capture, _db_texts, _exception_texts, find_secrets

SCALE = 0.05
HANG_GUARD_S = 60.0  # every row must stop well within this; it is a hang guard only
RSS_BOUND = 300 * 1024 * 1024  # peak RSS growth allowed for the body rows
#: small bounds so the file runs in well under 3 minutes
FAST = {
    "max_wait_s": 2.0,
    "request_deadline_s": 3.0,
    "timeout_s": 2.0,
    "connect_timeout_s": 2.0,
    "max_retries": 1,
    "workers": 1,
}

ROWS: list[dict[str, Any]] = []  # measured figures, one per test
CLI: list[str] = []  # exit codes of the CLI tests


@dataclass
class Outcome:
    seconds: float
    rss_growth: int
    error: BaseException | None
    report: Any
    texts: list[str | bytes] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[BaseException]:
        if isinstance(self.error, BaseExceptionGroup):
            return list(self.error.exceptions)
        return [self.error] if self.error is not None else []

    @property
    def message(self) -> str:
        return " | ".join(str(e) for e in self.errors)


class _PeakRSS:
    """Samples this process's RSS every 10 ms on a thread; ``growth`` = peak - start."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self.start = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> _PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.start


@contextmanager
def _debug_logs() -> Iterator[Capture]:
    capture = Capture()
    root = logging.getLogger()
    old = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(old)


@pytest.fixture(scope="module")
def good_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one good sync of a small clean world (copied per test)."""
    db = tmp_path_factory.mktemp("hostile-good") / "good.duckdb"
    with (
        served(SandboxConfig(scale=SCALE)) as api,
        vendorkit.connect(db, settings=api.settings(db)) as h,
    ):
        h.sync()
    return db


def _copy_store(good: Path, tmp_path: Path) -> Path:
    db = tmp_path / "vk.duckdb"
    db.write_bytes(good.read_bytes())
    wal = Path(str(good) + ".wal")
    if wal.exists():
        Path(str(db) + ".wal").write_bytes(wal.read_bytes())
    return db


def run_hostile(
    db: Path,
    endpoint: str,
    faults: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    **overrides: Any,
) -> Outcome:
    """Sync ``endpoint`` against the sandbox with ``faults``; measure time and peak RSS."""
    config = SandboxConfig(scale=SCALE, faults=FaultConfig(**faults))
    values = {**FAST, **overrides}
    with served(config) as api, _debug_logs() as logs:
        settings = api.settings(db, **values)
        error: BaseException | None = None
        report = None
        with _PeakRSS() as rss:
            started = time.monotonic()
            try:
                with vendorkit.connect(db, settings=settings) as h:
                    report = h.sync(endpoint, full=True)
            except SyncError as exc:
                error, report = exc, exc.report
            except VendorkitError as exc:
                error = exc
            seconds = time.monotonic() - started
        tokens = list(api.sandbox.app._tokens)
        stats = dict(api.sandbox.stats)
    out = capsys.readouterr()
    texts: list[str | bytes] = [out.out, out.err, *logs.texts, repr(report), str(report)]
    if error is not None:
        texts += _exception_texts(error)
        for sub in getattr(error, "exceptions", ()):
            texts += _exception_texts(sub)
    texts += _db_texts(db)
    return Outcome(seconds, rss.growth, error, report, texts, tokens, stats)


def check(
    name: str,
    outcome: Outcome,
    before: dict[str, Any],
    db: Path,
    *,
    error: type[BaseException] | None,
    says: tuple[str, ...] = (),
    endpoint: str | None = None,
    rss: bool = False,
    unchanged: bool = True,
) -> None:
    """The bounded outcome of one row, recorded for RESULTS.md."""
    shown = outcome.message or ("ok" if outcome.error is None else str(outcome.error))
    ROWS.append(
        {
            "row": name,
            "seconds": outcome.seconds,
            "error": shown,
            "rss_mb": outcome.rss_growth / 2**20 if rss else None,
        }
    )
    assert outcome.seconds < HANG_GUARD_S, f"{name}: took {outcome.seconds:.0f} s"
    if error is None:
        assert outcome.error is None, f"{name}: {outcome.error!r}"
    else:
        assert outcome.errors, f"{name}: the sync should have failed"
        assert all(isinstance(e, error) for e in outcome.errors), [
            type(e).__name__ for e in outcome.errors
        ]
        message = outcome.message
        assert "\n" not in message.strip(), f"{name}: not one line: {message!r}"
        if endpoint is not None:
            assert endpoint in message, message
            assert all(getattr(e, "endpoint", endpoint) == endpoint for e in outcome.errors)
        for needle in says:
            assert needle.lower() in message.lower(), f"{name}: {needle!r} not in {message!r}"
    if rss:
        assert outcome.rss_growth < RSS_BOUND, (
            f"{name}: RSS grew {outcome.rss_growth / 2**20:.0f} MB"
        )
    if unchanged:
        assert_same(before, snapshot(Store(db)))
    assert outcome.tokens, "the sandbox issued no token: the secrets scan would look for nothing"
    leaks = find_secrets(outcome.texts, [CLIENT_SECRET, *outcome.tokens])
    assert not leaks, leaks


@pytest.fixture
def store(good_store: Path, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    db = _copy_store(good_store, tmp_path)
    return db, snapshot(Store(db))


# --------------------------------------------------------------------------- pagination rows


def test_server_ignoring_page_number_stops_with_a_contract_error(store, capsys) -> None:
    db, before = store
    outcome = run_hostile(db, "inventory", {"ignore_page_number": True}, capsys)
    check(
        "ignores `pageNumber`",
        outcome,
        before,
        db,
        error=ContractError,
        endpoint="inventory",
        says=("page",),
    )


def test_next_page_pointing_to_itself_stops(store, capsys) -> None:
    db, before = store
    faults = {"next_page_self": True, "records_found": 100}
    outcome = run_hostile(db, "inventory", faults, capsys)
    # vendorkit pages by pageNumber (a self-link is ignored) and stops by recordsFound
    check(
        "`nextPage` to itself, `recordsFound` 100",
        outcome,
        before,
        db,
        error=None,
        unchanged=False,
    )
    requests = outcome.stats["inventory"]["requests"]
    assert requests < 30, outcome.stats  # bounded (was 1,184 GETs in 60 s)
    ROWS[-1]["error"] = f"ok; {requests} GETs (pages by pageNumber, the self link is ignored)"


def test_records_found_of_a_trillion_with_short_pages_stops(store, capsys) -> None:
    db, before = store
    faults = {"records_found": 10**12, "short_pages": 3}
    outcome = run_hostile(db, "inventory", faults, capsys)
    check(
        "`recordsFound` 10^12, short pages",
        outcome,
        before,
        db,
        error=ContractError,
        endpoint="inventory",
        says=("recordsFound",),
    )


def test_records_found_zero_with_records_and_next_page_stops(store, capsys) -> None:
    db, before = store
    outcome = run_hostile(db, "inventory", {"records_found": 0}, capsys)
    check(
        "`recordsFound` 0 with a record and `nextPage`",
        outcome,
        before,
        db,
        error=ContractError,
        endpoint="inventory",
        says=("recordsFound",),
    )


def test_huge_envelope_page_size_is_never_sent_back(store, capsys) -> None:
    db, before = store
    outcome = run_hostile(db, "inventory", {"envelope_page_size": 62_566_861}, capsys)
    check(
        "envelope `pageSize` 62,566,861",
        outcome,
        before,
        db,
        error=None,
        unchanged=False,
    )
    # the sandbox answers 400 to a pageSize above 100: none was sent
    assert 400 not in outcome.stats.get("inventory", {}).get("status_codes", {}), outcome.stats


# --------------------------------------------------------------------------- tokens and waits


def test_expires_in_zero_does_not_fetch_a_token_per_page(store, capsys) -> None:
    db, before = store
    outcome = run_hostile(db, "inventory", {"expires_in": 0}, capsys)
    check("`expires_in: 0`", outcome, before, db, error=None, unchanged=False)
    pages = outcome.stats.get("inventory", {}).get("requests", 0)
    token_posts = outcome.stats.get("token", {}).get("requests", 0)
    assert pages > 5, outcome.stats
    assert token_posts <= 2, f"{token_posts} token requests for {pages} pages"


@pytest.mark.parametrize(
    ("label", "faults"),
    [
        ("429 `Retry-After: 999999`", {"always_429": True, "retry_after": "999999"}),
        (
            "429 `Retry-After` HTTP-date 2099",
            {"always_429": True, "retry_after": "Fri, 01 Jan 2099 00:00:00 GMT"},
        ),
        (
            "200 `Remaining: 0`, `X-RateLimit-Reset` 2100",
            {"rate_limit_remaining": "0", "rate_limit_reset": "4102444800"},
        ),
    ],
)
def test_a_wait_beyond_max_wait_is_a_rate_limit_error_saying_when(
    label: str, faults: dict[str, Any], store, capsys
) -> None:
    db, before = store
    outcome = run_hostile(db, "inventory", faults, capsys)
    check(
        label,
        outcome,
        before,
        db,
        error=RateLimitError,
        endpoint="inventory",
        says=("retry", "VENDORKIT_MAX_WAIT_S"),
    )


@pytest.mark.parametrize(
    ("label", "faults"),
    [
        ("429 `Retry-After: inf`", {"always_429": True, "retry_after": "inf"}),
        ("429 `Retry-After: 1e308`", {"always_429": True, "retry_after": "1e308"}),
        ("200 `X-RateLimit-Remaining: inf`", {"rate_limit_remaining": "inf"}),
    ],
)
def test_non_finite_rate_limit_headers_are_treated_as_absent(
    label: str, faults: dict[str, Any], store, capsys
) -> None:
    db, before = store
    outcome = run_hostile(db, "inventory", faults, capsys)
    if faults.get("always_429"):
        # no usable Retry-After: the client's own backoff, then a clear error (no traceback)
        check(
            label,
            outcome,
            before,
            db,
            error=RateLimitError,
            endpoint="inventory",
            says=("the server asked for an unbounded wait", "VENDORKIT_MAX_WAIT_S=2s"),
        )
        assert not any(isinstance(e, OverflowError) for e in outcome.errors)
        assert "wait 0s" not in outcome.message
    else:
        check(label, outcome, before, db, error=None, unchanged=False)


# --------------------------------------------------------------------------- request bounds


@pytest.mark.parametrize(
    ("label", "faults"),
    [
        ("body 1 byte every 0.5 s", {"trickle_body_s": 0.5}),
        ("one header line every 1 s", {"trickle_headers_s": 1.0}),
    ],
)
def test_a_trickling_server_hits_the_request_deadline(
    label: str, faults: dict[str, Any], store, capsys
) -> None:
    db, before = store
    outcome = run_hostile(db, "inventory", faults, capsys)
    check(
        label,
        outcome,
        before,
        db,
        error=TransportError,
        endpoint="inventory",
        says=("VENDORKIT_REQUEST_DEADLINE_S",),
    )


def test_a_gzip_bomb_not_asked_for_is_refused_without_decoding(store, capsys) -> None:
    db, before = store
    # the sandbox needs a few seconds to compress the bomb: looser timeouts for this row
    outcome = run_hostile(
        db,
        "inventory",
        {"gzip_bomb_bytes": 1_000_000_000},
        capsys,
        timeout_s=30.0,
        request_deadline_s=40.0,
    )
    check(
        "gzip bomb (1 GB decoded), no `Accept-Encoding`",
        outcome,
        before,
        db,
        error=VendorkitError,
        endpoint="inventory",
        says=("gzip body inflated past", "compressed bytes", "VENDORKIT_MAX_PAGE_BYTES"),
        rss=True,
    )


@pytest.mark.parametrize(
    ("label", "faults"),
    [
        ("200 MB body, `recordsFound: 1`", {"huge_body_bytes": 200_000_000}),
        ("endless chunked body", {"endless_body": True}),
    ],
)
def test_an_oversized_body_is_cut_off_while_streaming(
    label: str, faults: dict[str, Any], store, capsys
) -> None:
    db, before = store
    outcome = run_hostile(db, "inventory", faults, capsys)
    check(
        label,
        outcome,
        before,
        db,
        error=VendorkitError,
        endpoint="inventory",
        says=("VENDORKIT_MAX_PAGE_BYTES",),
        rss=True,
    )


# --------------------------------------------------------------------------- bodies


def test_invalid_utf8_quarantines_only_those_records(store, capsys) -> None:
    db, before = store
    outcome = run_hostile(db, "orders", {"invalid_utf8_records": 2}, capsys)
    check("invalid UTF-8 inside 2 records", outcome, before, db, error=None, unchanged=False)
    (row,) = [r for r in outcome.report.rows if r.endpoint == "orders"]
    assert row.rejected >= 2, row
    assert row.loaded > 0, row
    with vendorkit.connect(db) as h:
        rejects = h.rejects()
    reasons = rejects.filter(rejects["reason"].str.starts_with("invalid UTF-8 in "))
    assert reasons.height >= 2, rejects.select("field", "reason").tail(5)
    ROWS[-1]["error"] = f"ok; {row.rejected} rejected: {reasons['reason'][0]}"


@pytest.mark.parametrize(
    ("label", "faults"),
    [
        ("200 text/html echoing the token", {"html_body": True}),
        ("non-numeric `recordsFound` echoing the token", {"records_found_token": True}),
    ],
)
def test_a_body_echoing_the_token_fails_without_printing_it(
    label: str, faults: dict[str, Any], store, capsys
) -> None:
    db, before = store
    outcome = run_hostile(db, "inventory", faults, capsys)
    check(label, outcome, before, db, error=ContractError, endpoint="inventory")


def test_line_number_outside_int32_is_rejected_as_out_of_range(store, capsys) -> None:
    db, before = store
    outcome = run_hostile(db, "orders", {"line_number": 2**31}, capsys)
    check("`lineNumber` outside Int32", outcome, before, db, error=None, unchanged=False)
    with vendorkit.connect(db) as h:
        rejects = h.rejects()
    ours = rejects.filter(rejects["field"].str.ends_with("lineNumber"))
    assert ours.height >= 1
    assert all(r.startswith("out of range for Int32") for r in ours["reason"]), ours["reason"]
    ROWS[-1]["error"] = f"ok; reject reason: {ours['reason'][0]}"


def test_page_size_above_100_is_refused_up_front(store, capsys) -> None:
    db, before = store
    for size in (500, 200):
        started = time.monotonic()
        with pytest.raises(ConfigError, match="VENDORKIT_PAGE_SIZE") as info:
            run_hostile(db, "inventory", {}, capsys, page_size=size)
        seconds = time.monotonic() - started
    ROWS.append(
        {"row": "`VENDORKIT_PAGE_SIZE=500` / 200", "seconds": seconds, "error": str(info.value)}
    )
    assert "\n" not in str(info.value)
    assert_same(before, snapshot(Store(db)))


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({"ignore_page_number": True}, ContractError),
        ({"always_429": True, "retry_after": "999999"}, RateLimitError),
        ({"endless_body": True}, ContractError),
        ({"records_found_token": True}, ContractError),
    ],
)
def test_the_cli_exits_with_the_error_class_code_and_one_line(
    faults: dict[str, Any], error: type[VendorkitError], store, monkeypatch
) -> None:
    """`vendorkit sync` against a hostile server: the class's exit code, one line per endpoint."""
    from click.testing import CliRunner

    from vendorkit.cli import EXIT_CODES, exit_code_for, main

    db, before = store
    config = SandboxConfig(scale=SCALE, faults=FaultConfig(**faults))
    with served(config) as api:
        env = {
            "VENDORKIT_BASE_URL": api.server.base_url,
            "VENDORKIT_TOKEN_URL": api.server.token_url,
            "VENDORKIT_CLIENT_ID": "reliability-client",
            "VENDORKIT_CLIENT_SECRET": CLIENT_SECRET,
            "VENDORKIT_MAX_WAIT_S": "2",
            "VENDORKIT_REQUEST_DEADLINE_S": "3",
            "VENDORKIT_MAX_RETRIES": "1",
        }
        started = time.monotonic()
        result = CliRunner().invoke(
            main, ["sync", "--db", str(db), "--full", "-e", "inventory"], env=env
        )
        seconds = time.monotonic() - started
        tokens = list(api.sandbox.app._tokens)
    output = result.output  # stdout and stderr as the user sees them
    assert seconds < HANG_GUARD_S
    assert result.exit_code == exit_code_for(error("x")), (result.exit_code, output)
    assert result.exit_code in EXIT_CODES.values()
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("vendorkit: error")]
    assert len(errors) == 1, output
    assert "inventory" in errors[0]
    assert not find_secrets([output], [CLIENT_SECRET, *tokens])
    assert_same(before, snapshot(Store(db)))
    CLI.append(f"`{faults}` -> exit {result.exit_code} ({error.__name__}) in {seconds:.1f} s")


def test_write_results(request: pytest.FixtureRequest) -> None:
    """Runs last: writes the measured rows when ``VENDORKIT_HOSTILE_RESULTS`` is set."""
    target = os.environ.get("VENDORKIT_HOSTILE_RESULTS")
    if not target:
        return
    lines = [
        "| server behaviour | time to stop (s) | error printed | peak RSS growth (MB) |",
        "|---|---:|---|---:|",
    ]
    for row in ROWS:
        rss = "" if row.get("rss_mb") is None else f"{row['rss_mb']:.0f}"
        error = str(row["error"]).replace("|", "\\|")[:400]
        lines.append(f"| {row['row']} | {row['seconds']:.1f} | {error} | {rss} |")
    lines += ["", "CLI (`vendorkit sync --full -e inventory`):", ""]
    lines += [f"- {line}" for line in CLI]
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")
