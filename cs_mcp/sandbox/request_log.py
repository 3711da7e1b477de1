"""Logs of API requests: those the sandbox received, and those whose change it applied."""

from __future__ import annotations

from collections import Counter
from fnmatch import fnmatchcase
from typing import NamedTuple


class RequestRecord(NamedTuple):
    method: str
    path: str  # after /api/v1, without the query
    role: str | None  # None: no valid key


class RequestLog(list[RequestRecord]):
    """Requests in the order they came; a plain list, plus counting by method and path."""

    def record(self, method: str, path: str, role: str | None) -> None:
        self.append(RequestRecord(method, path, role))

    def counts(self) -> Counter[tuple[str, str]]:
        """Requests per (method, path)."""
        return Counter((r.method, r.path) for r in self)

    def matching(self, method: str | None = None, path: str | None = None) -> int:
        """How many have this method and/or a path matching this glob (e.g. "/number-groups/*")."""
        return sum(
            1
            for r in self
            if (method is None or r.method == method.upper()) and (path is None or fnmatchcase(r.path, path))
        )
