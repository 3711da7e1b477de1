"""Confirmation: a human agrees to every purchase, release, deletion, SMS and risky reroute first.

How a guarded tool is confirmed (`Guardrails.confirmation_for`):

- **elicitation**: the client declared form elicitation (and `--confirm` is auto or elicit). The
  tool's `prepare` resolver computes the preview and a single-use *ticket*; the `ask` resolver asks
  the user through the SDK's `Resolve`/`Elicit` (a mid-call request on 2025-11-25, an
  `InputRequiredResult` round on 2026-07-28). Only an accepted answer with `confirm` ticked acts, and
  it redeems the ticket first, so a replayed or retried final round can never act twice.
- **token**: any other client. The first call changes nothing and returns a preview plus a
  `confirmation_token`: single-use, five minutes, bound to the tool, the exact arguments and the
  principal. Token mode trusts the client to show the preview to a person.
- **approval page** (`--confirm url`, or auto for a client with URL-mode elicitation only, and on a
  hosted server for every client without form elicitation): as token,
  but the token acts only once a person approved on a page of ours (`approval`), which the link goes
  to: sent to the client as URL-mode elicitation where it can take one mid-call, else in the result.
  Until then a retry changes nothing; after Decline it is refused.
- **not required**: send_sms under `--no-confirm-sms`, and a routing change whose preview shows that
  no call goes anywhere new.

Either way, before acting the preview is computed again: if the target changed since the user saw
it, nothing happens. Then `acting.WriteActor` sends the write once.

Tokens, tickets and cap slots live in the state store (`cs_mcp.state`), so any process or replica
sharing it can finish a confirmation another started. When the store cannot be reached, every write
that needs a confirmation or a cap is refused before anything is sent; reads never touch it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from mcp_types import ElicitationCapability
from pydantic import BaseModel, ValidationError

from cs_mcp.config import Settings
from cs_mcp.exports import KEEP_SECONDS
from cs_mcp.guardrails.acting import OutcomeUnknown, WriteActor
from cs_mcp.guardrails.approval import DECLINED, Approvals
from cs_mcp.guardrails.audit import NOT_REQUIRED, AuditLog, AuditRecord
from cs_mcp.guardrails.caps import CapLedger
from cs_mcp.guardrails.preview import TOKEN_ARGUMENT, Approve, Confirmable, GuardrailError, Preview
from cs_mcp.guardrails.tokens import TOKEN_TTL_SECONDS, PendingConfirmations, fingerprint, preview_fingerprint
from cs_mcp.hosted.principals import Principals
from cs_mcp.spec import ConfirmMode, ToolSpec
from cs_mcp.state import Store, StoreUnavailable, open_store
from cs_mcp.state.request_state import StoreKeyCodec

logger = logging.getLogger("cs_mcp.guardrails")

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from cs_mcp.handlers import ToolCall

ELICITATION, TOKEN, APPROVAL_PAGE = "elicitation", "token", "approval_page"

# What a confirmed tool's description adds, by --confirm mode.
DESCRIPTIONS = {
    ConfirmMode.TOKEN: "Needs the user's OK: the first call only previews and returns a confirmation_token; "
    "show the preview, and only if they agree call again with the same arguments and the token.",
    ConfirmMode.ELICIT: "The user is asked to confirm before anything happens.",
    ConfirmMode.URL: "Needs the user's OK on an approval page: the first call only previews and returns a "
    "confirmation_token; call again with the same arguments and the token once they approved there.",
    ConfirmMode.AUTO: "Needs the user's OK: asked directly, or the first call previews and returns a "
    "confirmation_token to pass back, same arguments, once they agree.",
}
ROUTING_PREFIX = "Sending calls to a new outside number, or moving numbers that take calls, "


@dataclass
class Prepared:
    """What the `prepare` resolver found before the user is asked; the tool body acts on it."""

    how: str = TOKEN
    preview: Preview | None = None
    ticket: str | None = None
    error: Exception | None = None


def arguments_of(params: BaseModel) -> str:
    return fingerprint(params.model_dump(mode="json", exclude={TOKEN_ARGUMENT}))


def store_refusal(tool: str, exc: StoreUnavailable) -> GuardrailError:
    return GuardrailError(
        f"Refused: {tool} needs the guardrail state store to check its confirmation and caps, and "
        f"{exc.where} cannot be used ({exc.reason}). Nothing was sent. Reads still work; ask the operator "
        "to bring the store back, then call again."
    )


def _elicitation(ctx: Context[Any, Any] | None) -> ElicitationCapability | None:
    try:
        capabilities = ctx.client_capabilities if ctx is not None else None
    except (ValueError, AttributeError):  # no active request (a direct call, outside MCP)
        return None
    return capabilities.elicitation if capabilities is not None else None


def _client_can_elicit(ctx: Context[Any, Any] | None) -> bool:
    """Form elicitation declared, as the SDK checks it (a bare `elicitation: {}` counts as form)."""
    elicitation = _elicitation(ctx)
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _url_elicitation(ctx: Context[Any, Any] | None) -> bool:
    """URL-mode elicitation declared (SEP-1036)."""
    elicitation = _elicitation(ctx)
    return elicitation is not None and elicitation.url is not None


def _can_ask_mid_call(ctx: Context[Any, Any] | None) -> bool:
    """The 2025-11-25 era over a stream can send the client a request mid-call; 2026-07-28 cannot."""
    try:
        return ctx is not None and ctx.request_context.session.can_send_request
    except (ValueError, AttributeError):
        return False


async def _offer_link(ctx: Context[Any, Any] | None, approval_id: str, link: str, message: str) -> str | None:
    """Send the person the link by URL-mode elicitation; their answer (accept: they will open it), or
    None where the client cannot take it now (no URL mode, the 2026-07-28 era, a failed send)."""
    if ctx is None or not (_url_elicitation(ctx) and _can_ask_mid_call(ctx)):
        return None
    try:
        return (await ctx.elicit_url(message, link, approval_id)).action
    except Exception:  # the link then goes in the answer instead
        logger.debug("URL elicitation not sent", exc_info=True)
        return None


class Guardrails:
    """Confirmation, caps and audit for one server, over the state store `settings.state` names.

    `clock` is wall time (cap windows and the times messages show); `clock` and `monotonic` time the
    lifetimes of a SQLite store's entries (Redis keeps its own time); `sleep` waits before a
    reconciliation's second look; `store` replaces the one `settings.state` names (tests)."""

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or open_store(settings.state, wall=clock, monotonic=monotonic)
        self.principals = Principals(settings)
        # Caps count per key (the principal), across its sessions: a new session does not reset them.
        self.caps = CapLedger(settings.caps, clock, self.store, lambda: self.principals.current().id)
        self.pending = PendingConfirmations(self.store, self.caps)
        self.approvals = Approvals(self.store, clock)
        self.actor = WriteActor(self.caps, sleep)
        self.audit_log = AuditLog(settings.audit_log) if settings.audit_log else None
        # The 2026-07-28 era's requestState sealed under a key every replica sharing the store holds.
        self.request_state_codec = StoreKeyCodec(self.store)

    @staticmethod
    def output_model(result_model: type[BaseModel]) -> type[Confirmable[Any]]:
        # A pydantic generic parametrised at run time: mypy cannot check a variable as a type argument.
        return Confirmable[result_model]  # type: ignore[valid-type]

    def requires_confirmation(self, spec: ToolSpec) -> bool:
        """Whether the tool may ask the user (always, or for routing changes when they reroute calls)."""
        return spec.guarded and (spec.guardrail != "outbound" or self.settings.confirm_sms)

    def description_suffix(self, spec: ToolSpec) -> str:
        if not self.requires_confirmation(spec):
            return ""
        how = DESCRIPTIONS[self.settings.confirm_mode]
        return ROUTING_PREFIX + how[0].lower() + how[1:] if spec.guardrail == "routing" else how

    async def keep_export(self, ctx: Context[Any, Any] | None, name: str, content: str) -> None:
        """Keep an export for an hour in the store, readable by this caller only (any replica)."""
        try:
            await self.store.put(self._export_key(ctx, name), content, KEEP_SECONDS)
        except StoreUnavailable as exc:
            raise GuardrailError(
                f"The export could not be kept for you to read: {exc}. Narrow the request so it fits "
                "in one answer, or ask the operator to fix the state store."
            ) from None

    async def read_export(self, ctx: Context[Any, Any] | None, name: str) -> str | None:
        return await self.store.get(self._export_key(ctx, name))

    def _export_key(self, ctx: Context[Any, Any] | None, name: str) -> str:
        return f"export:{self.principal_for(ctx)}:{fingerprint(name)[:32]}"

    def principal_for(self, ctx: Context[Any, Any] | None) -> str:
        """Who is calling: the caller's key (the server's own, or in hosted mode their own), narrowed to
        the MCP session over HTTP (stdio serves one user).

        The session id is issued and checked by the SDK's HTTP transport, which also refuses a session
        to any credentials but those that opened it, so a caller cannot borrow another session's tokens
        by sending its id. The 2026-07-28 era has no sessions: there the principal is the key alone."""
        key_principal = self.principals.current().id
        session = None
        try:
            headers = ctx.headers if ctx is not None else None
            session = headers.get("mcp-session-id") if headers else None
        except (ValueError, AttributeError):
            pass
        return fingerprint(f"{key_principal}|{session}")[:16] if session else key_principal

    def _record(
        self, spec: ToolSpec, arguments: dict[str, Any], ctx: Context[Any, Any] | None
    ) -> AuditRecord:
        """An audit record of this call; in hosted mode it also names the user (their principal id)."""
        record = AuditRecord(spec.name, dict(arguments), self.principal_for(ctx), self.audit_log)
        if self.principals.hosted:
            record.user = self.principals.current().id
        return record

    def confirmation_for(self, spec: ToolSpec, ctx: Context[Any, Any] | None) -> str:
        if not self.requires_confirmation(spec):
            return NOT_REQUIRED
        mode = self.settings.confirm_mode
        if mode == ConfirmMode.URL:
            return APPROVAL_PAGE
        if mode != ConfirmMode.TOKEN and _client_can_elicit(ctx):
            return ELICITATION
        # A hosted server is reachable by its users' browsers by definition: the page, not a token
        # the model could pass back on its own, is how a client without forms confirms there.
        if mode == ConfirmMode.AUTO and (_url_elicitation(ctx) or self.settings.hosted):
            return APPROVAL_PAGE
        if mode == ConfirmMode.ELICIT:
            raise GuardrailError(
                f"{spec.name} needs the user's confirmation by elicitation (this server runs with --confirm elicit), "
                "but this client does not support form elicitation. Nothing was done. Use a client that supports "
                "elicitation, or ask the operator to run with --confirm auto (confirmation tokens)."
            )
        return TOKEN

    # -- the two resolvers that run before an elicitation-confirmed tool's body

    async def prepare(self, call: ToolCall, arguments: dict[str, Any]) -> Prepared:
        """Failures are kept, not raised, so the tool body reports them through the runner's error
        mapping (and the audit log)."""
        prepared = Prepared()
        try:
            prepared.how = self.confirmation_for(call.spec, call.ctx)
            if prepared.how != ELICITATION:
                return prepared
            try:
                params = call.spec.input_model.model_validate(arguments)
            except ValidationError:
                return Prepared(how=prepared.how)  # the body reports the arguments' problems
            prepared.preview = await self._preview(call, params)
            if prepared.preview.required:
                resuming = call.ctx is not None and bool(call.ctx.input_responses or call.ctx.request_state)
                prepared.ticket = await self.pending.ticket(
                    call.spec.name,
                    arguments_of(params),
                    self.principal_for(call.ctx),
                    prepared.preview,
                    resuming=resuming,
                    cap=call.spec.cap,
                )
        except StoreUnavailable as exc:
            prepared.error = store_refusal(call.spec.name, exc)
        except Exception as exc:
            prepared.error = exc
        return prepared

    @staticmethod
    def question(prepared: Prepared) -> Elicit[Approve] | Prepared:
        """The `ask` resolver: the question for the user, or (no question) the prepared state as is."""
        if prepared.how != ELICITATION or prepared.ticket is None or prepared.preview is None:
            return prepared
        return Elicit(
            f"Please confirm:\n{prepared.preview.describe()}\n"
            f"Tick the box and accept to do this once; decline and nothing changes. (ref {prepared.ticket[:8]})",
            Approve,
        )

    # -- a write, through confirmation where the tool needs it

    async def write(
        self,
        call: ToolCall,
        params: BaseModel,
        prepared: Prepared | None = None,
        consent: ElicitationResult[Approve] | None = None,
    ) -> BaseModel:
        """Run a write tool: unguarded writes act at once; guarded ones answer a `Confirmable`."""
        try:
            return await self._write(call, params, prepared, consent)
        except StoreUnavailable as exc:
            raise store_refusal(call.spec.name, exc) from None

    async def _write(
        self,
        call: ToolCall,
        params: BaseModel,
        prepared: Prepared | None,
        consent: ElicitationResult[Approve] | None,
    ) -> BaseModel:
        if not call.spec.guarded:
            result, _ = await self.actor.act(call, params)
            return result
        record = call.audit
        if prepared is None:  # called outside the MCP tool entry point: no elicitation possible
            prepared = Prepared(how=self.confirmation_for(call.spec, call.ctx))
        if record is not None:
            record.confirmation = prepared.how
        if prepared.error is not None:
            raise prepared.error
        if prepared.how == ELICITATION:
            answer = await self._elicited(call, params, prepared, consent)
        elif prepared.how in (TOKEN, APPROVAL_PAGE):
            answer = await self._tokened(call, params, on_page=prepared.how == APPROVAL_PAGE)
        else:
            answer = await self._act(call, params, await self._preview(call, params))
        if record is not None:
            record.outcome = answer.status
        return answer

    @staticmethod
    async def _preview(call: ToolCall, params: BaseModel) -> Preview:
        preview = call.spec.functions.preview
        assert preview is not None  # the catalogue requires one on every guarded tool
        result: Preview = await preview(call, params)
        return result

    async def _elicited(
        self,
        call: ToolCall,
        params: BaseModel,
        prepared: Prepared,
        consent: ElicitationResult[Approve] | None,
    ) -> Confirmable[Any]:
        assert prepared.preview is not None
        if prepared.ticket is None:  # a routing change that sends no call anywhere new: nothing to ask
            return await self._act(call, params, await self._preview(call, params))
        agreed = (
            isinstance(consent, AcceptedElicitation)
            and isinstance(consent.data, Approve)
            and consent.data.agreed
        )
        if not agreed:
            await self.pending.discard(prepared.ticket)
            action = getattr(consent, "action", None)
            verb = (
                "cancelled"
                if action == "cancel"
                else "declined"
                if action == "decline"
                else "did not tick the box"
            )
            return Confirmable[Any](
                status="declined",
                preview=prepared.preview,
                message=f"The user {verb}: nothing was done. Don't retry unless the user asks for it again.",
            )
        pending = await self.pending.redeem(
            prepared.ticket, call.spec.name, arguments_of(params), self.principal_for(call.ctx)
        )
        preview = await self._preview(call, params)
        if pending.preview != preview_fingerprint(preview):
            raise GuardrailError(
                "The target changed after the user was asked; nothing was done. It is now:\n"
                f"{preview.describe()}\nCall again to ask the user about this."
            )
        return await self._act(call, params, preview)

    async def _tokened(self, call: ToolCall, params: BaseModel, *, on_page: bool = False) -> Confirmable[Any]:
        """The token flow; `on_page`, a token acts only once a person approved it on the approval page."""
        token = getattr(params, TOKEN_ARGUMENT, None)
        arguments = arguments_of(params)
        principal = self.principal_for(call.ctx)
        ask = self._ask_on_page if on_page else self._needs_confirmation
        if not token:
            preview = await self._preview(call, params)
            if not preview.required:
                return await self._act(call, params, preview)
            return await ask(call, arguments, principal, preview)
        if on_page and (held := await self._held_by_page(call, token, arguments, principal)) is not None:
            return held
        # Redeemed before anything else: a bad token costs no API request, and a good one is gone at once.
        pending = await self.pending.redeem(token, call.spec.name, arguments, principal)
        preview = await self._preview(call, params)
        if pending.preview != preview_fingerprint(preview):
            answer = await ask(call, arguments, principal, preview)
            then = answer.message if on_page else "Show this new preview to the user."
            answer.message = "The target changed since the preview; nothing was done. " + then
            return answer
        return await self._act(call, params, preview)

    async def _held_by_page(
        self, call: ToolCall, token: str, arguments: str, principal: str
    ) -> Confirmable[Any] | None:
        """The answer while the page has not approved this caller's own token (waiting, or declined);
        None once approved, or for another caller's, tool's or arguments' token (redeeming it then says
        why it fails). A token that never had a page (an elicitation ticket, say) is spent and refused."""
        pending = await self.pending.peek(token)
        if pending is None or (pending.tool, pending.arguments, pending.principal) != (
            call.spec.name,
            arguments,
            principal,
        ):
            return None
        approval, decision = await self.approvals.for_token(token)
        if approval is None:
            await self.pending.discard(token)
            raise GuardrailError(
                "This confirmation_token was never given an approval page, and this server confirms on one; "
                "it is spent now. Nothing was done. Call again without it for a preview and an approval link."
            )
        if decision == DECLINED:
            await self.pending.discard(token)
            return Confirmable[Any](
                status="declined",
                preview=approval.shown,
                message="The user declined on the approval page: nothing was done. Don't retry unless the user "
                "asks for it again.",
            )
        if decision is None:
            return Confirmable[Any](
                status="needs_confirmation",
                preview=approval.shown,
                confirmation_token=token,
                message="Waiting for approval on the page: nothing was done. Once the user has approved it there, "
                "call again with the same arguments and this token.",
            )
        return None

    async def _ask_on_page(
        self, call: ToolCall, arguments: str, principal: str, preview: Preview
    ) -> Confirmable[Any]:
        """A token that waits for the page, and the link to it: given to the person through the client
        (URL-mode elicitation) where it can ask mid-call, else in the answer for the model to pass on."""
        answer = await self._needs_confirmation(call, arguments, principal, preview)
        assert answer.confirmation_token is not None
        approval = await self.approvals.open(
            answer.confirmation_token, call.spec.name, self._page_owner(), preview
        )
        link = await self.approvals.link(approval.id)
        minutes = TOKEN_TTL_SECONDS // 60
        opened = await _offer_link(
            call.ctx,
            approval.id,
            link,
            f"{preview.action.rstrip('.')}. Approve or decline on this page (valid {minutes} minutes).",
        )
        if opened == "accept":
            answer.message = (
                "Nothing was done yet: the user was given a page to approve or decline this on. Once they "
                "approved it there, call again with the same arguments and this token."
            )
        elif opened is not None:
            await self.approvals.withdraw(approval.id)
            await self.pending.discard(answer.confirmation_token)
            answer.status, answer.confirmation_token = "declined", None
            answer.message = (
                "The user would not open the approval page: nothing was done. Don't retry unless "
                "the user asks for it again."
            )
        else:
            answer.message = (
                f"Nothing was done yet. Give the user this link to approve or decline it (valid {minutes} minutes): "
                f"{link} . Once they approved it there, call again with the same arguments and this token."
            )
        return answer

    def _page_owner(self) -> str:
        """Whose browser session may open the page: the hosted caller's principal, else this server's key."""
        return self.principals.current().id

    async def _act(self, call: ToolCall, params: BaseModel, preview: Preview) -> Confirmable[Any]:
        if not preview.required and call.audit is not None:
            call.audit.confirmation = NOT_REQUIRED  # a routing change that reroutes nothing
        result, reconciled = await self.actor.act(call, params)
        message = (
            f"Done, checked afterwards because CallScaler's answer was lost (it happened once): {preview.action}"
            if reconciled
            else "Done: " + preview.action
        )
        return self.output_model(call.spec.output_model)(
            status="done", preview=preview, result=result, message=message
        )

    async def _needs_confirmation(
        self, call: ToolCall, arguments: str, principal: str, preview: Preview
    ) -> Confirmable[Any]:
        token = await self.pending.issue(call.spec.name, arguments, principal, preview, cap=call.spec.cap)
        return Confirmable[Any](
            status="needs_confirmation",
            preview=preview,
            confirmation_token=token,
            message="Nothing was done yet. Show the preview to the user; only if they agree, call again with the "
            f"same arguments and this token (single-use, valid {TOKEN_TTL_SECONDS // 60} minutes).",
        )

    # -- audit

    @contextmanager
    def audited(
        self, spec: ToolSpec, arguments: dict[str, Any], ctx: Context[Any, Any] | None
    ) -> Iterator[AuditRecord | None]:
        """Record one write tool call: who, what, how it was confirmed and what came of it (None for a
        read: reads are not audited)."""
        if not spec.writes:
            yield None
            return
        record = self._record(spec, arguments, ctx)
        try:
            yield record
        except ToolError as exc:
            # The runner re-raises every failure as a ToolError; what it replaced tells refusal from error.
            cause = exc.__context__
            record.outcome = (
                "unknown"
                if isinstance(cause, OutcomeUnknown)
                else "refused"
                if isinstance(cause, GuardrailError | ValidationError)
                else "error"
            )
            record.detail = str(exc)
            raise
        except BaseException as exc:
            record.outcome, record.detail = "error", type(exc).__name__
            raise
        finally:
            record.finish()

    def audit_hidden(
        self, spec: ToolSpec, arguments: dict[str, Any], ctx: Context[Any, Any] | None, reason: str
    ) -> None:
        """A write tool this server hides was called anyway: refused before anything, and on the record."""
        if spec.writes:
            record = self._record(spec, arguments, ctx)
            record.outcome, record.detail = "refused", reason
            record.finish()
