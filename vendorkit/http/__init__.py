"""Talking to the Vendor API: httpx only, one transport.

One module per idea, in the order a request meets them:

* :mod:`vendorkit.http.pages`: what comes out (:class:`~vendorkit.http.pages.Page`,
  :class:`~vendorkit.http.pages.FetchStats`, :class:`~vendorkit.http.pages.ProgressEvent`)
  and the :class:`~vendorkit.http.pages.PageSource` protocol the sync consumes;
* :mod:`vendorkit.http.auth`: the OAuth2 token provider;
* :mod:`vendorkit.http.pacing`: the per-endpoint rate-limit pacer (clock injectable);
* :mod:`vendorkit.http.retry`: the retry policy (classify an answer: accept, retry, wait
  or fail) and the ``Retry-After`` / ``X-RateLimit-Reset`` readers;
* :mod:`vendorkit.http.body`: one page body -> records frame + envelope (the live parser,
  also used by replay);
* :mod:`vendorkit.http.paging`: the pagination strategy, its stop rules and guards;
* :mod:`vendorkit.http.bounds`: the per-request deadline and the size-bounded body reader;
* :mod:`vendorkit.http.client`: :class:`~vendorkit.http.client.VendorClient` and
  :func:`~vendorkit.http.client.open_client`, which put the pieces together.

Nothing is imported here, so ``import vendorkit.http.pages`` (the sync's view) does not pull
in httpx.
"""
