"""Small helpers for paging through lists."""

from __future__ import annotations

MAX_PAGE = 100_000


def page_number(raw: str | None) -> int:
    """A page number from the query string; anything odd becomes page 1."""
    try:
        page = int(raw or 1)
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)
