"""The ``vendorkit`` command line: thin wrappers over the public library functions.

Commands::

    vendorkit sync [--full] [--restart] [-e E] fetch from the API (or the sandbox) into the store
    vendorkit status                             per endpoint: last sync, age, rows, rejects
    vendorkit report [--out PATH]                write the self-contained HTML report
    vendorkit rejects [--endpoint E] [--limit N] records quarantined by validation, with reasons
    vendorkit changes [--since ID] [--fail-on K]  what changed between two syncs (exit 30 on K)
    vendorkit demo                               sync the sandbox, run the notebooks, write the report
    vendorkit notebooks run [--db PATH]          the curated notebooks on a store (yours or a sandbox)
    vendorkit sandbox serve ...                  run the built-in sandbox Vendor API

Every command takes ``--db PATH`` (the DuckDB store; default ``VENDORKIT_DB`` or the platform
data dir), ``--json`` (machine-readable output on stdout) and ``-v/--verbose`` (debug logs on
stderr; secrets are always redacted).

Library errors (:class:`vendorkit.errors.VendorkitError`) become one line on stderr and a
non-zero exit code (see :data:`EXIT_CODES`), never a traceback. When no credentials are
configured a loud banner on stderr says the data comes from the built-in sandbox.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import click

from vendorkit import errors
from vendorkit.endpoints import ENDPOINT_NAMES

if TYPE_CHECKING:
    from vendorkit.config import Settings

__all__ = ["EXIT_CHANGES_FOUND", "EXIT_CODES", "FAIL_ON_KINDS", "main"]

#: Exit code per error class (most specific class wins). 2 is click's usage error.
EXIT_CODES: dict[type[errors.VendorkitError], int] = {
    errors.VendorkitError: 1,
    errors.ConfigError: 3,
    errors.AuthError: 4,
    errors.TransportError: 5,
    errors.ApiError: 6,
    errors.RateLimitError: 7,
    errors.ContractError: 8,
    errors.ValidationError: 9,
    errors.MissingFieldError: 10,
    errors.StoreError: 11,
    errors.StoreLockedError: 12,
}

#: what `vendorkit rejects` shows on a terminal (--json gives every column)
_REJECT_COLUMNS = ("endpoint", "page_number", "record_key", "field", "reason")

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("vendorkit.cli")


def exit_code_for(exc: BaseException) -> int:
    """The exit code for a library error: the code of its nearest class in :data:`EXIT_CODES`.

    A :class:`~vendorkit.errors.SyncError` exits with the code of its first endpoint's
    original exception (an AuthError on every endpoint exits 4, like a refused token).

    Example:
        >>> exit_code_for(errors.StoreLockedError("busy"))
        12
        >>> exit_code_for(errors.SyncError("sync failed", [errors.AuthError("refused")]))
        4
    """
    if isinstance(exc, errors.SyncError) and exc.exceptions:
        return exit_code_for(exc.exceptions[0])
    for klass in type(exc).__mro__:
        if klass in EXIT_CODES:
            return EXIT_CODES[klass]  # type: ignore[index]
    return 1


class CliError(click.ClickException):
    """A library error shown as one clean line: ``vendorkit: error (AuthError): ...``."""

    def __init__(self, exc: errors.VendorkitError) -> None:
        message = " ".join(str(exc).split())  # one line, whatever the message layout
        super().__init__(errors.redact(message))
        original: BaseException = exc
        if isinstance(exc, errors.SyncError) and exc.exceptions:
            original = exc.exceptions[0]
        self.kind = type(original).__name__
        self.exit_code = exit_code_for(exc)  # type: ignore[misc]  # per instance on purpose

    def show(self, file: Any = None) -> None:
        click.echo(f"vendorkit: error ({self.kind}): {self.format_message()}", err=True)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (click's test runner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _RedactingFilter(logging.Filter):
    """Mask bearer tokens and client secrets in every log record shown by the CLI.

    The client's "using SANDBOX data" warning is dropped: the CLI's one-line notice already
    said so (one sandbox notice per command).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(_SANDBOX_LOG_PREFIX):
            return False
        record.msg = errors.redact(message)
        record.args = None
        return True


_SANDBOX_LOG_PREFIX = "vendorkit is using SANDBOX data"


def _configure_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose else logging.WARNING
    logger = logging.getLogger("vendorkit")
    logger.setLevel(level)
    for handler in logger.handlers:
        if getattr(handler, "_vendorkit_cli", False):
            handler.setLevel(level)
            return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter())
    handler.setLevel(level)
    handler._vendorkit_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)


def make_settings(db: str | None = None, **overrides: Any) -> Settings:
    """Build :class:`~vendorkit.config.Settings` from the environment plus CLI overrides.

    Invalid settings raise :class:`~vendorkit.errors.ConfigError` naming the ``VENDORKIT_``
    variable (never echoing secret values).

    Example:
        >>> make_settings(db=":memory:").db_path
        ':memory:'
    """
    from vendorkit.config import Settings

    kwargs = {k: v for k, v in overrides.items() if v is not None}
    if db is not None:
        kwargs["db"] = db
    return Settings(**kwargs)


@dataclass(frozen=True)
class Ctx:
    """What every command gets from the shared options."""

    db: str | None
    as_json: bool
    verbose: int

    def settings(self, **overrides: Any) -> Settings:
        return make_settings(self.db, **overrides)


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dicts"):  # a polars DataFrame
        return value.to_dicts()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (dates ISO 8601, frames as lists of row objects).

    Example:
        >>> emit_json({"when": date(2026, 11, 1)})
        {"when": "2026-11-01"}
    """
    click.echo(json.dumps(data, default=_to_jsonable, ensure_ascii=False))


def print_frame(df: Any) -> None:
    """Print a polars frame in full width (rows capped at 50)."""
    import polars as pl

    with pl.Config(
        tbl_rows=50,
        tbl_cols=-1,
        tbl_width_chars=200,
        fmt_str_lengths=60,
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_formatting="ASCII_MARKDOWN",
    ):
        click.echo(str(df))


def sandbox_banner(settings: Settings) -> None:
    """Say once, on stderr, that the data comes from the built-in sandbox.

    Shown only when neither credential is set: with one of the two the command fails with
    an error naming the missing variable, and a "no credentials" notice would contradict it.
    """
    if settings.source != "sandbox" or settings.client_id or settings.client_secret:
        return
    click.secho(
        f"SANDBOX DATA (synthetic: seed {settings.sandbox_seed}, as of "
        f"{settings.sandbox_as_of.isoformat()}, scale {settings.sandbox_scale:g}): no "
        "VENDORKIT_CLIENT_ID / VENDORKIT_CLIENT_SECRET configured; set both for the real API.",
        err=True,
        fg="yellow",
        bold=True,
    )


def common_options(func: F) -> F:
    """The options every command shares (``--db``, ``--json``, ``-v``) plus error handling.

    The wrapped command receives a :class:`Ctx` as its first argument; any
    :class:`~vendorkit.errors.VendorkitError` it raises becomes a :class:`CliError`.
    """

    @click.option(
        "--db",
        type=str,
        default=None,
        metavar="PATH",
        help="DuckDB store file (default: $VENDORKIT_DB or the platform data dir).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
    @click.option(
        "-v", "--verbose", count=True, help="Show debug logs on stderr (secrets redacted)."
    )
    @functools.wraps(func)
    def wrapper(*args: Any, db: str | None, as_json: bool, verbose: int, **kwargs: Any) -> Any:
        _configure_logging(verbose)
        try:
            return func(Ctx(db=db, as_json=as_json, verbose=verbose), *args, **kwargs)
        except errors.VendorkitError as exc:
            log.debug("command failed", exc_info=verbose > 1)
            raise CliError(exc) from exc

    return wrapper  # type: ignore[return-value]


#: longest ``last_error`` shown by ``vendorkit status`` on a terminal
_ERROR_SHOWN = 60


def _ellipsis(text: str | None) -> str | None:
    if text is None:
        return None
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= _ERROR_SHOWN else one_line[: _ERROR_SHOWN - 1] + "…"


@contextmanager
def open_existing(settings: Settings) -> Iterator[Any]:
    """A handle for a read-only command: the store must exist; nothing is created.

    Raises:
        StoreError: the store file (or its folder) does not exist.
    """
    import vendorkit as vk

    path = settings.db_path
    if path != ":memory:" and not Path(path).expanduser().exists():
        raise errors.StoreError(
            f"no vendorkit store at {path}: run `vendorkit sync` first, or point --db / "
            "VENDORKIT_DB at an existing store"
        )
    with vk.connect(settings=settings) as handle:
        yield handle


@contextmanager
def _progress(ctx: Ctx) -> Iterator[Any]:
    from vendorkit.progress import ProgressBars

    with ProgressBars(enabled=None if not ctx.as_json else False) as bars:
        yield bars


def _exit_if_failed(report: Any) -> None:
    """After printing a sync report: one error line per failed endpoint, then exit with the
    code of the first failure's original class (see :func:`exit_code_for`)."""
    if report.ok:
        return
    for row in report.failed:
        message = " ".join(errors.redact(row.error or "failed").split())
        click.echo(f"vendorkit: error ({row.endpoint}): {message}", err=True)
    first = report.failed[0].exception
    sys.exit(exit_code_for(first) if first is not None else 1)


class _MainGroup(click.Group):
    """The root group; mounts the sandbox engineer's ``sandbox`` group lazily.

    Importing it lazily keeps ``vendorkit --help`` and every other command's start-up fast.
    """

    lazy_commands: ClassVar[dict[str, tuple[str, str, str]]] = {
        "sandbox": ("vendorkit.sandbox.cli", "sandbox", "Run the built-in sandbox Vendor API.")
    }

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands; lazy ones by their stored one-liner, without importing them."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands and name not in self.commands:
                rows.append((name, self.lazy_commands[name][2]))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append(
                    (name, command.get_short_help_str(limit=formatter.width - 6 - len(name)))
                )
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            import importlib

            module_name, attr, _ = self.lazy_commands[cmd_name]
            command = getattr(importlib.import_module(module_name), attr)
        return command


@click.group(cls=_MainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vendorkit", prog_name="vendorkit")
def main() -> None:
    """vendorkit: Ingram Micro Vendor API data as validated polars DataFrames in DuckDB.

    Without VENDORKIT_CLIENT_ID / VENDORKIT_CLIENT_SECRET every command uses the built-in
    sandbox API (and says so). Start with `vendorkit demo`.
    """


@main.command()
@click.option("--full", is_flag=True, help="Full refresh instead of an incremental sync.")
@click.option(
    "--endpoint",
    "-e",
    "endpoints",
    multiple=True,
    type=click.Choice(ENDPOINT_NAMES),
    help="Endpoint to sync (repeatable; default: all).",
)
@click.option(
    "--restart",
    is_flag=True,
    help="Discard an unfinished sync instead of resuming it from its checkpoint.",
)
@common_options
def sync(ctx: Ctx, full: bool, endpoints: tuple[str, ...], restart: bool) -> None:
    """Fetch inventory, orders and shipments into the store.

    Incremental by default (only records updated since the last sync); --full refetches
    everything. An interrupted sync is resumed from the page after the last one stored;
    --restart starts it again from page 1. Progress bars are drawn on stderr when it is a terminal. When an endpoint
    failed (the others are still committed) the exit code is that of the failure's error
    class (4 bad credentials, 5 network, 7 rate limit, 12 store locked, ...).
    """
    import vendorkit as vk

    settings = ctx.settings()
    sandbox_banner(settings)
    with _progress(ctx) as bars, vk.connect(settings=settings) as handle:
        report = handle.sync(
            list(endpoints) or None,
            full=full,
            on_progress=bars,
            raise_on_failure=False,
            restart=restart,
        )
    if ctx.as_json:
        emit_json(report.to_dict())
    else:
        click.echo(str(report))
    _exit_if_failed(report)


@main.command()
@common_options
def status(ctx: Ctx) -> None:
    """Show per endpoint: last sync, its age, source, row counts and rejects."""
    import polars as pl
    import polars.selectors as cs

    settings = ctx.settings()
    with open_existing(settings) as handle:
        frame = handle.status()
    if ctx.as_json:
        emit_json(frame)
    else:
        # timestamps to the second, long errors cut with an ellipsis (--json has them whole),
        # blank cells instead of "null": readable at a glance, one line per endpoint
        shown = frame.with_columns(
            cs.datetime().dt.truncate("1s").dt.strftime("%Y-%m-%d %H:%M:%S"),
            pl.col("last_error").map_elements(_ellipsis, return_dtype=pl.String),
        ).with_columns(pl.all().cast(pl.String).fill_null(""))
        print_frame(shown)


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the HTML file (default: data/report/vendorkit-report.html).",
)
@common_options
def report(ctx: Ctx, out: Path | None) -> None:
    """Write the self-contained HTML report (headline numbers, charts, data quality).

    The report reads the store only; run `vendorkit sync` first. It opens offline: charts
    are embedded as inline SVG.
    """
    from vendorkit.report import build_report

    settings = ctx.settings()
    path = build_report(settings=settings, out=out)
    if ctx.as_json:
        emit_json({"report": str(path), "bytes": path.stat().st_size})
    else:
        click.echo(f"report written: {path} ({path.stat().st_size / 1024:.0f} KiB)")


@main.command()
@click.option(
    "--endpoint",
    "-e",
    type=click.Choice(ENDPOINT_NAMES),
    default=None,
    help="Only rejects of this endpoint.",
)
@click.option(
    "--limit", "-n", type=click.IntRange(min=0), default=20, show_default=True, help="Rows shown."
)
@common_options
def rejects(ctx: Ctx, endpoint: str | None, limit: int) -> None:
    """List records quarantined by validation, newest first, with the failing field and reason."""
    import polars as pl

    settings = ctx.settings()
    with open_existing(settings) as handle:
        frame = handle.rejects()
    if endpoint is not None and "endpoint" in frame.columns:
        frame = frame.filter(pl.col("endpoint") == endpoint)
    total = frame.height
    if "rejected_at" in frame.columns:
        frame = frame.sort("rejected_at", descending=True, maintain_order=True)
    frame = frame.head(limit)
    if ctx.as_json:
        emit_json({"total": total, "rows": frame})
    else:
        shown = [c for c in _REJECT_COLUMNS if c in frame.columns] or frame.columns
        print_frame(frame.select(shown))
        click.echo(f"{frame.height} of {total} rejects shown (--json for the raw records)")


#: ``--notebooks DIR``, shared by ``demo`` and ``notebooks run``
_notebooks_dir_option = click.option(
    "--notebooks",
    "notebooks_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("notebooks"),
    show_default=True,
    help="The curated notebooks to execute (never modified).",
)


@main.command()
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/report"),
    show_default=True,
    help="Where the executed notebooks and the HTML report go.",
)
@_notebooks_dir_option
@click.option("--skip-notebooks", is_flag=True, help="Only sync and write the report.")
@common_options
def demo(ctx: Ctx, out_dir: Path, notebooks_dir: Path, skip_notebooks: bool) -> None:
    """The main job: sync, execute the notebooks, write the HTML report, say where it all is.

    Syncs into the default store (or --db), executes copies of notebooks/*.ipynb into
    OUT_DIR/notebooks/ (the curated notebooks are never overwritten) and writes
    OUT_DIR/vendorkit-report.html.
    """
    import vendorkit as vk
    from vendorkit.notebooks import run_notebooks
    from vendorkit.report import build_report

    settings = ctx.settings()
    sandbox_banner(settings)
    started = time.perf_counter()
    with _progress(ctx) as bars, vk.connect(settings=settings) as handle:
        sync_report = handle.sync(on_progress=bars, raise_on_failure=False)
    if not ctx.as_json:
        click.echo(str(sync_report))
    executed: list[Path] = []
    if not skip_notebooks:
        if not notebooks_dir.is_dir():
            raise CliError(
                errors.ConfigError(
                    f"no notebooks directory at {notebooks_dir}; run `vendorkit demo` from the "
                    "repository root, pass --notebooks PATH, or --skip-notebooks"
                )
            )
        executed = run_notebooks(
            notebooks_dir,
            out_dir / "notebooks",
            on_done=None if ctx.as_json else lambda p, s: click.echo(f"executed {p} ({s:.1f}s)"),
            kernel_stderr=ctx.verbose > 0,
        )
    report_path = build_report(settings=settings, out=out_dir / "vendorkit-report.html")
    elapsed = time.perf_counter() - started
    summary = {
        "source": settings.source,
        "store": settings.db_path,
        "report": str(report_path),
        "report_bytes": report_path.stat().st_size,
        "notebooks": [str(p) for p in executed],
        "seconds": round(elapsed, 1),
        "sync": sync_report.to_dict(),
    }
    if ctx.as_json:
        emit_json(summary)
    else:
        click.echo("")
        click.echo(f"store:     {settings.db_path}")
        click.echo(f"report:    {report_path} ({report_path.stat().st_size / 1024:.0f} KiB)")
        if executed:
            click.echo(f"notebooks: {out_dir / 'notebooks'} ({len(executed)} executed)")
        click.echo(f"done in {elapsed:.1f}s. Open the report in a browser; `make lab` opens")
        click.echo("JupyterLab on the curated notebooks.")
    _exit_if_failed(sync_report)


#: ``vendorkit changes --fail-on`` names -> the change kinds they stand for
FAIL_ON_KINDS: dict[str, str] = {
    "new-stockouts": "new_stockout",
    "recovered-stockouts": "recovered_stockout",
    "quantity-moves": "quantity_move",
    "backorders": "order_backordered",
    "on-hold": "order_on_hold",
    "cancellations": "order_cancelled",
    "late-shipments": "shipment_late",
}
#: exit code of ``vendorkit changes --fail-on ...`` when a listed kind of change occurred
EXIT_CHANGES_FOUND = 30


def _fail_on(text: str | None) -> list[str]:
    if not text:
        return []
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FAIL_ON_KINDS]
    if unknown:
        raise click.BadParameter(
            f"unknown change kind {', '.join(unknown)}; choose from {', '.join(FAIL_ON_KINDS)}",
            param_hint="--fail-on",
        )
    return [FAIL_ON_KINDS[n] for n in names]


@main.command()
@click.option(
    "--since",
    default=None,
    metavar="SYNC_ID",
    help="Earlier sync (default: the one before --until).",
)
@click.option("--until", default=None, metavar="SYNC_ID", help="Later sync (default: the latest).")
@click.option(
    "--fail-on",
    "fail_on",
    default=None,
    metavar="KINDS",
    help=f"Exit {EXIT_CHANGES_FOUND} when any of these occurred (comma-separated: "
    + ", ".join(FAIL_ON_KINDS)
    + ").",
)
@click.option(
    "--limit", "-n", type=click.IntRange(min=0), default=20, show_default=True, help="Rows shown."
)
@common_options
def changes(
    ctx: Ctx, since: str | None, until: str | None, fail_on: str | None, limit: int
) -> None:
    """What changed between two syncs (default: the last two): stockouts, late shipments, ...

    For a scheduled job: `vendorkit sync && vendorkit changes --fail-on
    new-stockouts,late-shipments` exits 30 when the sync brought any of those, so cron
    alone can alert. Reads the store only.
    """
    import polars as pl

    kinds = _fail_on(fail_on)
    with open_existing(ctx.settings()) as handle:
        found = handle.changes(since=since, until=until)
    counts = (
        found.group_by("kind").agg(pl.len().alias("changes")).sort("kind")
        if found.height
        else pl.DataFrame(schema={"kind": pl.String, "changes": pl.UInt32})
    )
    triggered = sorted(set(found["kind"].cast(pl.String).to_list()) & set(kinds))
    if ctx.as_json:
        emit_json(
            {
                "since": since,
                "until": until,
                "counts": {str(k): int(n) for k, n in counts.iter_rows()},
                "triggered": triggered,
                "changes": found,
            }
        )
    else:
        if found.height:
            print_frame(counts.with_columns(pl.col("kind").cast(pl.String)))
            shown = found.head(limit).with_columns(pl.all().cast(pl.String).fill_null(""))
            print_frame(shown)
            click.echo(
                f"{min(limit, found.height)} of {found.height} changes shown (--json for all)"
            )
        else:
            click.echo("no changes between these syncs (or fewer than two syncs in the store)")
    if triggered:
        click.echo(f"vendorkit: changes found: {', '.join(triggered)}", err=True)
        sys.exit(EXIT_CHANGES_FOUND)


@main.group()
def notebooks() -> None:
    """Run the curated notebooks against a store (yours, or a fresh sandbox)."""


@notebooks.command("run")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/report"),
    show_default=True,
    help="Where the executed notebooks (OUT/notebooks/) and the HTML report go.",
)
@_notebooks_dir_option
@common_options
def notebooks_run(ctx: Ctx, out_dir: Path, notebooks_dir: Path) -> None:
    """Execute the notebooks on the store --db names, then write the report of that store.

    Without --db each notebook decides as it does in JupyterLab: VENDORKIT_DB or
    credentials if configured, else a fresh in-memory sandbox (no report is written then).
    The notebooks' check cells (freshness, reject rate, row counts) must pass.
    """
    from vendorkit.notebooks import run_notebooks
    from vendorkit.report import build_report

    if not notebooks_dir.is_dir():
        raise errors.ConfigError(
            f"no notebooks directory at {notebooks_dir}; run from the repository root or "
            "pass --notebooks PATH"
        )
    settings = ctx.settings()
    executed = run_notebooks(
        notebooks_dir,
        out_dir / "notebooks",
        db=ctx.db,
        on_done=None if ctx.as_json else lambda p, s: click.echo(f"executed {p} ({s:.1f}s)"),
        kernel_stderr=ctx.verbose > 0,
    )
    report_path: Path | None = None
    if ctx.db is not None and ctx.db != ":memory:":
        report_path = build_report(settings=settings, out=out_dir / "vendorkit-report.html")
    if ctx.as_json:
        emit_json(
            {
                "notebooks": [str(p) for p in executed],
                "report": str(report_path) if report_path else None,
            }
        )
    elif report_path is not None:
        click.echo(f"report written: {report_path} ({report_path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":  # pragma: no cover - `python -m vendorkit.cli`
    main()
