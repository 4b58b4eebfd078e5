"""The HTML report in a real browser: nothing overflows horizontally at 1,024 and 1,400 px.

Renders the report from the sandbox's world (changed once with ``Sandbox.mutate``, with the
histories a store keeps, so every section has content), opens the file in Debian's
``chromium`` through playwright (never ``playwright install``) and checks, at both widths,
that the page does not scroll sideways and that no section, heading, paragraph, card, chart
or table sticks out of the viewport or hides content behind a horizontal scrollbar.

Skips with the reason when chromium is not installed: ``apt-get install -y chromium``.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from vendorkit.report import ReportInputs, render_report

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

WIDTHS = (1024, 1400)
TS = pl.Datetime("us", "UTC")
SECTIONS = (
    "headline", "charts", "changes", "inventory", "forecast", "rebalance", "orders", "service",
    "carriers", "resellers", "data_quality",
)  # fmt: skip
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

#: Elements sticking out of the viewport, or hiding content behind a horizontal scrollbar.
OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const bad = [];
  if (document.documentElement.scrollWidth > vw) {
    bad.push('page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + vw);
  }
  const selector = 'section, figure, table, .grid2 > div, .card, h2, h3, p, svg';
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    const named = el.closest('[id]');
    const name = el.tagName.toLowerCase() + ' in #' + (named ? named.id : '?');
    if (box.right > vw + 0.5) bad.push(name + ' ends at ' + Math.round(box.right) + ' px');
    const style = getComputedStyle(el);
    if (style.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) {
      bad.push(name + ' hides ' + (el.scrollWidth - el.clientWidth) + ' px');
    }
  }
  return bad;
}"""


def _chromium() -> str:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")


def _report(path: Path) -> Path:
    from vendorkit.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig(scale=0.2))
    snaps, osh, ssh = [], [], []
    for k in range(2):
        if k:
            sandbox.mutate(0.3, advance=timedelta(hours=20))
        at = pl.lit(sandbox.now, dtype=TS)
        sync = pl.lit(f"sync-{k}")
        snaps.append(
            sandbox.ground_truth("inventory").select(
                sync.alias("sync_id"), at.alias("snapshot_at"), pl.all()
            )
        )
        for frame, key, out in (("orders", "order_id", osh), ("shipments", "shipment_id", ssh)):
            out.append(
                sandbox.ground_truth(frame).select(
                    key,
                    pl.col("status").cast(pl.String),
                    at.alias("observed_at"),
                    sync.alias("sync_id"),
                )
            )

    # a status row per change, as the store keeps it
    def changed(h: pl.DataFrame, key: str) -> pl.DataFrame:
        prev = pl.col("status").shift(1).over(key, order_by="observed_at")
        return h.sort("observed_at").filter(pl.col("status").ne_missing(prev))

    tables = ("inventory", "orders", "order_lines", "shipments", "shipment_lines")
    inputs = ReportInputs(
        **{t: sandbox.ground_truth(t) for t in tables},
        inventory_history=pl.concat(snaps),
        order_status_history=changed(pl.concat(osh), "order_id"),
        shipment_status_history=changed(pl.concat(ssh), "shipment_id"),
        rejects=pl.DataFrame({"endpoint": ["orders"], "field": ["status"],
                              "reason": ["not a known status: 'Shipped-ish'"]}),
    )  # fmt: skip
    path.write_text(render_report(inputs), encoding="utf-8")
    return path


def test_report_fits_at_1024_and_1400_px(tmp_path: Path) -> None:
    executable = _chromium()
    from playwright import sync_api  # a dev dependency: an import failure is a failure

    report = _report(tmp_path / "report.html")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(report.as_uri())
                for section in SECTIONS:
                    assert page.locator(f"section#{section}").count() == 1, section
                problems = page.evaluate(OVERFLOW_JS)
                page.screenshot(path=str(tmp_path / f"report-{width}.png"), full_page=True)
                assert problems == [], f"at {width} px: {problems[:10]}"
                page.close()
        finally:
            browser.close()
