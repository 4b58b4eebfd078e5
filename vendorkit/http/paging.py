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
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from vendorkit.endpoints import Endpoint
from vendorkit.http.body import PageBody
from vendorkit.http.pages import Page

__all__ = ["PageNumberPaginator", "PageRequest", "page_count"]

logger = logging.getLogger("vendorkit.http.paging")


def page_count(records_found: int, page_size: int) -> int:
    """How many pages hold ``records_found`` records at ``page_size`` per page.

    Example:
        >>> page_count(2500, 100), page_count(0, 100), page_count(101, 100)
        (25, 0, 2)
    """
    if page_size <= 0:
        raise ValueError("page_size must be positive")
    return math.ceil(records_found / page_size)


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

    def __init__(self, endpoint: Endpoint, page_size: int) -> None:
        if page_size <= 0:
            raise ValueError("page_size must be positive")
        self.endpoint = endpoint
        self.requested_size = page_size
        self.page_size = page_size
        self.records_found: int | None = None
        self.pages_total: int | None = None
        self.has_next = True
        self._last_number = 0
        self._plan: range = range(0)
        self._plan_end = 1  # the last page number known to exist

    def __repr__(self) -> str:
        return (
            f"PageNumberPaginator(endpoint={self.endpoint.name!r}, page_size={self.page_size}, "
            f"records_found={self.records_found}, last_page={self._last_number}, "
            f"has_next={self.has_next})"
        )

    # -- dlt's three steps -----------------------------------------------------------

    def init_request(self, updated_since: str | None) -> PageRequest:
        """The request for page 1."""
        return PageRequest(1, self.page_size, updated_since)

    def update_state(self, page: Page, body: PageBody | None) -> None:
        """Read page ``page.number`` (``body`` None: a 204); pages arrive in order."""
        number = page.number
        self._last_number = number
        if number == 1:
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

    def update_request(self, request: PageRequest) -> PageRequest:
        """Point ``request`` at the page after the last one read."""
        request.number = self._last_number + 1
        request.size = self.page_size
        return request

    # -- concurrency -----------------------------------------------------------------

    def plan(self) -> range:
        """Page numbers known to exist after page 1 (fetch them in any order, but feed
        them to :meth:`update_state` in order); empty after the first call."""
        plan, self._plan = self._plan, range(0)
        return plan

    # -- rules -----------------------------------------------------------------------

    def _first(self, body: PageBody | None) -> None:
        if body is None:  # 204: nothing at all
            self.records_found = 0
            self.pages_total = 1
            self.has_next = False
            return
        self.records_found = body.records_found
        if not body.has_envelope:  # seed-shaped: the whole list in one body
            self.pages_total = 1
            self.has_next = False
            return
        got = body.records.height
        size = body.page_size or self.requested_size
        if body.page_size is None and 0 < got < size and (body.records_found or 0) > got:
            size = got  # the server capped the page size without saying so
        self.page_size = size
        if body.records_found is not None:
            total = page_count(body.records_found, size) if size else 1
            self.pages_total = max(total, 1)
            self._plan_end = max(total, 1)
            self._plan = range(2, total + 1)
            if total <= 1:
                self.has_next = self._continues(body)
            else:
                self.has_next = True  # decided when the last planned page arrives
        else:
            self.has_next = self._continues(body)

    def _continues(self, body: PageBody) -> bool:
        """Another page one by one: a full page that names a next one."""
        return bool(body.next_page) and body.records.height >= self.page_size
