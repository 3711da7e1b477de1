"""The approval page (GET/POST /approve/<id>): a person approves or declines one guarded write.

Served by the HTTP server's own app when cs_mcp runs over HTTP (`mount`, `serve_at`), and for stdio by
a page server on a loopback port that starts the first time a link is needed and stops with the MCP
server (`on_demand`).

Who may answer: the first browser to open a link takes it (a signed cookie of ours names the browser),
and a browser whose cs_mcp session cookie names another principal is refused. The Approve / Decline
form carries a CSRF token bound to the approval and that browser. A decision is taken once; every
later visit, a second click, another browser and an expired link get a page that says so.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cs_mcp.guardrails.approval import APPROVE_PATH, APPROVED, DECLINED, Approval, Approvals
from cs_mcp.web.pages import render
from cs_mcp.web.signing import SESSION_COOKIE, ServerSecret, SignedValues, browser_sessions

if TYPE_CHECKING:
    from cs_mcp.guardrails import Guardrails
    from cs_mcp.server import CallScalerServer

BROWSER_COOKIE = "cs_mcp_approver"
BROWSER_COOKIE_SECONDS = 24 * 3600
ROUTE = APPROVE_PATH + "{approval_id}"
ANSWERS = {"approve": APPROVED, "decline": DECLINED}


class ApprovalPages:
    """The page's handler over `approvals`. `secret` signs cookies and CSRF tokens (hosted mode passes
    the server's, which also signs the session cookie); by default one kept in the state store, so that
    every replica sharing it accepts what another signed."""

    def __init__(self, approvals: Approvals, secret: ServerSecret | None = None) -> None:
        self.approvals = approvals
        secret = secret or ServerSecret(approvals.store.secret("approval-pages"))
        clock = approvals.clock
        self.csrf = SignedValues(secret.derive("approval-csrf"), clock)
        self.browsers = SignedValues(secret.derive("approval-browser"), clock)
        self.sessions = browser_sessions(secret, clock)

    def routes(self) -> list[Route]:
        return [Route(ROUTE, self.page, methods=["GET", "POST"])]

    async def page(self, request: Request) -> Response:
        browser = self.browsers.check(request.cookies.get(BROWSER_COOKIE))
        known = browser is not None
        browser = browser or secrets.token_urlsafe(16)
        response = await self._answer(request, request.path_params["approval_id"], browser)
        if not known:
            response.set_cookie(
                BROWSER_COOKIE,
                self.browsers.sign(browser, BROWSER_COOKIE_SECONDS),
                max_age=BROWSER_COOKIE_SECONDS,
                path=APPROVE_PATH,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
            )
        return response

    async def _answer(self, request: Request, approval_id: str, browser: str) -> Response:
        approval = await self.approvals.find(approval_id)
        if approval is None:
            if await self.approvals.expired(approval_id):
                return refused(
                    410,
                    "This approval link has expired",
                    f"Links work for {self.approvals.lifetime // 60} minutes. Nothing was done; ask your "
                    "assistant to try again for a new link.",
                )
            return refused(
                404, "Unknown approval link", "Check that the whole link was copied. Nothing was done."
            )
        signed_in_as = self.sessions.check(request.cookies.get(SESSION_COOKIE))
        if signed_in_as is not None and signed_in_as != approval.owner:
            return refused(403, "This approval belongs to another user", "Nothing was done.")
        decision = await self.approvals.decision(approval_id)
        if decision is not None:
            return refused(
                409, f"Already {decision}", "An approval link works once. Nothing more will happen."
            )
        if not await self.approvals.bind(approval_id, browser):
            return refused(
                403,
                "Opened in another browser",
                "This link was first opened in another browser, and only that browser can answer it.",
            )
        bound_to = f"{approval_id}:{browser}"
        if request.method == "POST":
            return await self._decide(request, approval, bound_to)
        return render(
            "approval.html",
            approval=approval,
            preview=approval.shown,
            csrf=self.csrf.nonce_token(self.approvals.lifetime, bound_to),
            minutes=self.approvals.lifetime // 60,
        )

    async def _decide(self, request: Request, approval: Approval, bound_to: str) -> Response:
        form = await request.form()
        if self.csrf.check(str(form.get("csrf", "")), bound_to) is None:
            return refused(403, "This form has expired", "Open the link again to approve or decline.")
        decision = ANSWERS.get(str(form.get("decision", "")))
        if decision is None:
            return refused(400, "Approve or decline", "Use one of the two buttons. Nothing was done.")
        if not await self.approvals.decide(approval.id, decision):
            return refused(409, "Already decided", "An approval link works once. Nothing more will happen.")
        return render(
            "approval_done.html", approved=decision == APPROVED, preview=approval.shown, error=False
        )


def refused(status: int, heading: str, detail: str) -> Response:
    return render("approval_done.html", status=status, heading=heading, detail=detail, error=True)


# -- where the page is served


def mount(server: CallScalerServer, secret: ServerSecret | None = None) -> ApprovalPages:
    """The page on the HTTP server's own app (call before the app is built)."""
    pages = ApprovalPages(server.guardrails.approvals, secret)
    for route in pages.routes():
        server.custom_route(route.path, methods=["GET", "POST"])(pages.page)
    return pages


def base_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches an HTTP server bound to `host` (until --public-url)."""
    host = "localhost" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def serve_at(server: CallScalerServer, base_url: str) -> None:
    """Links point at `base_url` (the public URL, or where the HTTP server listens)."""

    async def address() -> str:
        return base_url

    server.guardrails.approvals.address = address


@asynccontextmanager
async def on_demand(guardrails: Guardrails) -> AsyncIterator[None]:
    """For as long as an MCP server runs without an HTTP app serving the page: a loopback page server,
    started the first time a link is needed."""
    approvals = guardrails.approvals
    if approvals.address is not None:
        yield
        return
    async with anyio.create_task_group() as tasks:
        server = LoopbackPageServer(ApprovalPages(approvals), tasks)
        approvals.address = server.address
        try:
            yield
        finally:
            approvals.address = None
            server.stop()


class LoopbackPageServer:
    """uvicorn on 127.0.0.1 and a port the system picks, in the MCP server's task group."""

    def __init__(self, pages: ApprovalPages, tasks: anyio.abc.TaskGroup) -> None:
        self.pages = pages
        self.tasks = tasks
        self.lock = anyio.Lock()
        self.url: str | None = None
        self.server: Any = None

    async def address(self) -> str:
        async with self.lock:
            if self.url is None:
                self.url = self._start()
        return self.url

    def _start(self) -> str:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield  # Ctrl-C and SIGTERM stay the MCP server's to handle

        app = Starlette(
            routes=self.pages.routes(),
            # A page reached through a rebinding DNS name is not ours to answer.
            middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1"])],
        )
        # Listening before the link is given out: a browser that is quick connects to the backlog.
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.server = Quiet(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.tasks.start_soon(self.server.serve, [sock])
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
