"""Pagination as a strategy object: which page to ask for next, and when to stop.

:class:`PageNumberPaginator` has dlt's shape (``dlt.sources.helpers.rest_client.paginators``):
``init_request`` sets up the first request, ``update_state`` reads each page as it arrives
(in page order), ``update_request`` points the request at the next page, and ``has_next``
says whether there is one. Besides, :meth:`PageNumberPaginator.plan` hands out the pages
known to exist after page 1 (from ``recordsFound``), which the client fetches concurrently;
``update_state`` still sees them one by one, in order.

Stop rules, all here:

* a 204 (page 1: one empty page; later: past the end);
* a body without any envelope key (seed-shaped ``{"inventory": [...]}``): the only page;
* with ``recordsFound``: ``ceil(recordsFound / pageSize)`` pages, then one by one only while
  the last page was full and has a ``nextPage`` (records added during the fetch);
* without it: one by one until a page without ``nextPage``, or a short page.

Guards, so that every loop ends whatever the server does (each a :class:`ContractError`
naming the endpoint, the page and what the server did; the sync then stores nothing):

* the envelope's ``pageNumber`` is not the page asked for (the server ignores it);
* a page's body (its hash), or its records (pages of 2+ records: same count, same first
  and last key), repeats an earlier page's (a ``nextPage`` pointing to itself); memory
  stays linear in pages;
* more pages than ``ceil(recordsFound / pageSize)`` plus :data:`EXTRA_PAGES` (or 10 %,
  whichever is more) for records added during the fetch; without ``recordsFound``, more
  pages than ``max_records`` could fill;
* ``recordsFound`` negative, not a number, or above ``max_records``
  (``VENDORKIT_MAX_RECORDS``);
* the envelope's ``pageSize`` may lower the page size asked for, never raise it.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from typing import Any

from vendorkit.endpoints import Endpoint
from vendorkit.errors import ContractError
from vendorkit.http.body import PageBody
from vendorkit.http.pages import Page

__all__ = [
    "DEFAULT_MAX_RECORDS",
    "EXTRA_PAGES",
    "PageMark",
    "PageNumberPaginator",
    "PageRequest",
    "page_count",
]

logger = logging.getLogger("vendorkit.http.paging")

#: Pages past ``ceil(recordsFound / pageSize)`` allowed for records added during a fetch
#: (or 10 % of the expected pages, whichever is more).
EXTRA_PAGES = 10
#: ``VENDORKIT_MAX_RECORDS``'s default: more records per endpoint is not a believable answer.
DEFAULT_MAX_RECORDS = 50_000_000


def page_count(records_found: int, page_size: int) -> int:
    """How many pages hold ``records_found`` records at ``page_size`` per page.

    Example:
        >>> page_count(2500, 100), page_count(0, 100), page_count(101, 100)
        (25, 0, 2)
    """
    if page_size <= 0:
        raise ValueError("page_size must be positive")
    return math.ceil(records_found / page_size)


@dataclass(frozen=True, slots=True)
class PageMark:
    """What the repeat guard compares between pages: the body's hash, and the records'
    count with their first and last keys (``None`` below 2 records or without the keys).

    Computed by :meth:`of` for each page, in the worker thread that fetched it (hashing
    the body there keeps that work off the thread consuming the pages).

    Example:
        >>> import polars as pl
        >>> from vendorkit.endpoints import get_endpoint
        >>> records = pl.DataFrame({"partNumber": ["A", "B"], "warehouse": ["1", "1"]})
        >>> PageMark.of(get_endpoint("inventory"), b"{}", records).keys
        (2, ('A', '1'), ('B', '1'))
    """

    digest: bytes
    keys: tuple[object, ...] | None

    @classmethod
    def of(cls, endpoint: Endpoint, body: bytes, records: Any) -> PageMark:
        """The mark of one page of ``endpoint``: its raw ``body`` and parsed ``records``."""
        digest = hashlib.blake2b(body, digest_size=16).digest()
        keys = endpoint.primary_key
        if records.height < 2 or not set(keys) <= set(records.columns):
            return cls(digest, None)
        # count, first and last key: cheap, and a page that only shifted by a record or
        # two during the fetch does not match
        columns = [records.get_column(k) for k in keys]
        first = tuple(c[0] for c in columns)
        last = tuple(c[-1] for c in columns)
        return cls(digest, (records.height, first, last))


def _digest64(value: object) -> int:
    """A 64-bit digest of ``repr(value)``, stable across processes (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(repr(value).encode(), digest_size=8).digest(), "little")


@dataclass(slots=True)
class PageRequest:
    """The query of one page request.

    Example:
        >>> PageRequest(2, 100, "2026-10-01T00:00:00+00:00").params()
        {'pageNumber': 2, 'pageSize': 100, 'updatedSince': '2026-10-01T00:00:00+00:00'}
    """

    number: int
    size: int
    updated_since: str | None = None

    def params(self) -> dict[str, str | int]:
        """The query parameters, in the order the API documents them."""
        params: dict[str, str | int] = {"pageNumber": self.number, "pageSize": self.size}
        if self.updated_since:
            params["updatedSince"] = self.updated_since
        return params


class PageNumberPaginator:
    """``pageNumber`` / ``pageSize`` pagination with the Vendor API's envelope.

    Args:
        endpoint: the endpoint being paged (named in messages).
        page_size: the page size asked for.
        max_records: the most records an endpoint may announce or deliver
            (``VENDORKIT_MAX_RECORDS``).

    Attributes:
        page_size: the page size of every request after page 1 (may be lowered by the
            server, see :meth:`update_state`).
        records_found: page 1's ``recordsFound`` (0 after a 204), if sent.
        pages_total: pages expected, once known.
        has_next: whether another page should be requested one by one.

    Example:
        >>> from vendorkit.endpoints import get_endpoint
        >>> paginator = PageNumberPaginator(get_endpoint("inventory"), 100)
        >>> request = paginator.init_request(None)
        >>> request.params()
        {'pageNumber': 1, 'pageSize': 100}
    """

    def __init__(
        self, endpoint: Endpoint, page_size: int, *, max_records: int = DEFAULT_MAX_RECORDS
    ) -> None:
        if page_size <= 0:
            raise ValueError("page_size must be positive")
        self.endpoint = endpoint
        self.requested_size = page_size
        self.page_size = page_size
        self.max_records = max_records
        self.records_found: int | None = None
        self.pages_total: int | None = None
        self.has_next = True
        self.max_pages = page_count(max_records, page_size) + EXTRA_PAGES
        self._last_number = 0
        self._first_number = 1
        self._plan: range = range(0)
        self._plan_end = 1  # the last page number known to exist
        # 64-bit digests, not the bodies or key tuples: what the guard keeps per page stays
        # small over a 40,000-page endpoint (a false match needs a 64-bit collision)
        self._bodies: set[int] = set()
        self._key_sets: dict[int, int] = {}

    def __repr__(self) -> str:
        return (
            f"PageNumberPaginator(endpoint={self.endpoint.name!r}, page_size={self.page_size}, "
            f"records_found={self.records_found}, last_page={self._last_number}, "
            f"has_next={self.has_next})"
        )

    # -- dlt's three steps -----------------------------------------------------------

    def init_request(self, updated_since: str | None, first: int = 1) -> PageRequest:
        """The request for the first page: page 1, or page ``first`` when a fetch resumes
        (every page's envelope carries ``recordsFound``, so the plan is made from it)."""
        if first < 1:
            raise ValueError("the first page is 1 or more")
        self._first_number = first
        return PageRequest(first, self.page_size, updated_since)

    def update_state(self, page: Page, body: PageBody | None, mark: PageMark | None = None) -> None:
        """Read page ``page.number`` (``body`` None: a 204); pages arrive in order.

        ``mark`` is the page's :class:`PageMark` if the caller computed it already."""
        number = page.number
        self._last_number = number
        if body is not None:
            self._guard(page, body, mark or PageMark.of(self.endpoint, page.body, body.records))
        if number == self._first_number:
            self._first(body)
            return
        if body is None:
            if number <= self._plan_end:
                # 204 before recordsFound was reached: the data shrank while fetching
                logger.warning(
                    "%s page %d answered 204 before recordsFound=%s was reached; "
                    "records may have been removed during the fetch",
                    self.endpoint.name,
                    number,
                    self.records_found,
                )
            self.has_next = False
            return
        if number >= self._plan_end:
            self.has_next = self._continues(body)
        if self.has_next and number >= self.max_pages:
            raise self._stop(
                number,
                f"it still announces a next page after {number} pages, more than "
                f"{self._why_max_pages()} allow",
            )

    def update_request(self, request: PageRequest) -> PageRequest:
        """Point ``request`` at the page after the last one read."""
        request.number = self._last_number + 1
        request.size = self.page_size
        return request

    # -- concurrency -----------------------------------------------------------------

    def plan(self) -> range:
        """Page numbers known to exist after the first page (fetch them in any order, but
        feed them to :meth:`update_state` in order); empty after the first call."""
        plan, self._plan = self._plan, range(0)
        return plan

    # -- rules -----------------------------------------------------------------------

    def _first(self, body: PageBody | None) -> None:
        if body is None:  # 204: nothing at all
            self.records_found = 0
            self.pages_total = 1
            self.has_next = False
            return
        self.records_found = self._records_found(body)
        if not body.has_envelope:  # seed-shaped: the whole list in one body
            self.pages_total = 1
            self.has_next = False
            return
        got = body.records.height
        size = self.requested_size
        if body.page_size:  # the server may lower the page size, never raise it
            size = min(size, body.page_size)
        elif self._first_number == 1 and 0 < got < size and (self.records_found or 0) > got:
            size = got  # the server capped the page size without saying so
        self.page_size = size
        found = self.records_found
        if found is not None:
            total = page_count(found, size)
            self.pages_total = max(total, 1)
            self._plan_end = max(total, 1)
            self._plan = range(self._first_number + 1, total + 1)
            extra = max(EXTRA_PAGES, math.ceil(total / 10))
            self.max_pages = min(self.max_pages, max(total, 1) + extra)
            if total <= self._first_number:
                self.has_next = self._continues(body)
            else:
                self.has_next = True  # decided when the last planned page arrives
        else:
            self.max_pages = page_count(self.max_records, size) + EXTRA_PAGES
            self.has_next = self._continues(body)

    def _records_found(self, body: PageBody) -> int | None:
        found = body.records_found
        if found is not None and found > self.max_records:
            raise self._stop(
                1,
                f"it announced recordsFound={found:,}, more than VENDORKIT_MAX_RECORDS="
                f"{self.max_records:,} (raise it if the endpoint really holds that many)",
            )
        return found

    def _guard(self, page: Page, body: PageBody, mark: PageMark) -> None:
        """Stop on a page that repeats an earlier one or is not the page asked for."""
        number = page.number
        if body.page_number is not None and body.page_number != number:
            raise self._stop(
                number,
                f"it answered pageNumber={body.page_number} when asked for page {number} "
                "(the server ignores pageNumber)",
            )
        body_id = int.from_bytes(mark.digest[:8], "little")
        if body_id in self._bodies:
            raise self._stop(number, "it sent the same body as an earlier page")
        self._bodies.add(body_id)
        if mark.keys is not None:
            keys_id = _digest64(mark.keys)
            earlier = self._key_sets.get(keys_id)
            if earlier is not None:
                raise self._stop(
                    number, f"it sent the same {mark.keys[0]} records as page {earlier}"
                )
            self._key_sets[keys_id] = number

    def _why_max_pages(self) -> str:
        if self.records_found is not None:
            return (
                f"recordsFound={self.records_found:,} at pageSize {self.page_size} "
                f"(+{self.max_pages - max(self.pages_total or 1, 1)} pages of margin)"
            )
        return f"VENDORKIT_MAX_RECORDS={self.max_records:,} at pageSize {self.page_size}"

    def _stop(self, number: int, what: str) -> ContractError:
        return ContractError(
            f"{self.endpoint.name} page {number}: stopped paging because {what}; nothing "
            "from this fetch is stored. The server breaks the paging contract: report it "
            "with the correlation id",
            endpoint=self.endpoint.name,
            page=number,
        )

    def _continues(self, body: PageBody) -> bool:
        """Another page one by one: a full page that names a next one."""
        return bool(body.next_page) and body.records.height >= self.page_size
