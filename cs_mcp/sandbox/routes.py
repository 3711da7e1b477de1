"""How a resource module declares its endpoints: a route table filled by decorators on the handlers.

    routes = RouteTable()

    @routes.get("/forms/{id}")
    def get_form(store: Store, req: Req) -> dict[str, Any]: ...

A handler takes the store and the parsed request and returns the value of `"data"` (the app adds the
envelope and the status), or a finished `Response` for answers that are not enveloped JSON. Problems
are raised as `ApiError`. The route and its handler sit side by side, so adding an endpoint touches
one resource module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cs_mcp.sandbox.store import Store
from cs_mcp.sandbox.validation import Fields


@dataclass
class Req:
    """One API request, parsed: path parameters, query, JSON body, the caller's role, the API's base URL,
    and the variants switched on for it (kind -> form, e.g. {"flow_shape": "alternate"})."""

    params: dict[str, Any]
    query: Fields
    body: Fields
    role: str
    base_url: str
    variants: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Store, Req], Any]


class Endpoint(NamedTuple):
    method: str
    path: str  # under /api/v1, in Starlette's route syntax
    handler: Handler
    status: int = 200  # on success
    changes_state: bool = False  # a success is an applied write (`Sandbox.writes`)


class RouteTable:
    """The endpoints of one resource, in declaration order."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(
        self, method: str, path: str, *, status: int = 200, changes_state: bool | None = None
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler; every method but GET changes state unless told otherwise."""

        def register(handler: Handler) -> Handler:
            writes = method != "GET" if changes_state is None else changes_state
            self.endpoints.append(Endpoint(method, path, handler, status, writes))
            return handler

        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("GET", path)

    def post(
        self, path: str, *, status: int = 200, changes_state: bool | None = None
    ) -> Callable[[Handler], Handler]:
        return self.route("POST", path, status=status, changes_state=changes_state)

    def put(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("PUT", path)

    def patch(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path)

    def delete(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path)
