"""Guardrails: a human confirms every purchase, release, deletion and SMS before it happens.

How a confirmed tool is confirmed (`Guardrails.confirmation_for`):

- **elicitation**: the client declared form elicitation (and `--confirm` is auto or elicit). The
  tool's `prepare` resolver computes the preview and a single-use *ticket*; the `ask` resolver asks
  the user through the SDK's `Resolve`/`Elicit` (a mid-call request on 2025-11-25, an
  `InputRequiredResult` round on 2026-07-28). Only an accepted answer acts, and it redeems the
  ticket first, so a replayed or retried final round can never act twice: the ticket is gone, the
  next question carries a new one, and the user is asked again.
- **token**: any other client. The first call changes nothing and returns a preview plus a
  `confirmation_token` that lives only in this server's memory, is single-use, expires after five
  minutes, and is bound to the tool, the exact arguments and the principal.
- **not_required**: tools without a confirmation class, and send_sms when the operator passed
  `--no-confirm-sms`.

Either way, before acting the preview is computed again: if the target changed since the user saw
it, nothing happens. Caps (`--max-purchases-per-day`, `--max-sms-per-hour`, `--max-sms-recipients`)
are checked in the preview and counted at act time (a slot is reserved before the request, so
parallel calls cannot overshoot). A write whose answer was lost is never repeated; a purchase or an
SMS is reconciled (its toolset's `reconcile_<tool>`: GET /numbers, the thread). Every write call is
appended to the audit log, if configured.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field, ValidationError

from cs_mcp.config import ConfirmMode, Settings
from cs_mcp.errors import CallScalerError, ConfigError, WriteOutcomeUnknown
from cs_mcp.models import ToolInput
from cs_mcp.secrets import redact

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from cs_mcp.catalogue import ToolSpec
    from cs_mcp.handlers import ToolCall

logger = logging.getLogger("cs_mcp.guardrails")

TOKEN_TTL_SECONDS = 300
TOKEN_ARGUMENT = "confirmation_token"
ELICITATION, TOKEN, NOT_REQUIRED = "elicitation", "token", "not_required"
ResultT = TypeVar("ResultT", bound=BaseModel)


class ConfirmedInput(ToolInput):
    """Base of the arguments of every tool that needs confirmation."""

    confirmation_token: Annotated[
        str | None, Field(max_length=100, description="from the preview, once the user agreed")
    ] = None


class GuardrailError(Exception):
    """A guardrail refused the call; the message says why and what to do."""


# What a confirmed tool would do, in plain words, with the facts behind it. (No docstrings on the
# models in outputSchema: pydantic would put them in every confirmed tool's schema, paid per request.)
class Preview(BaseModel):
    action: str
    details: dict[str, Any] = Field(default_factory=dict)
    irreversible: bool = False
    monthly_cost_cents: int | None = None

    def describe(self) -> str:
        """The preview as the user reads it in an elicitation dialog."""
        lines = [self.action.rstrip(".") + "."]
        lines += [f"- {k.replace('_', ' ')}: {v}" for k, v in self.details.items() if v is not None]
        if self.monthly_cost_cents is not None:
            lines.append(f"- cost: {self.monthly_cost_cents / 100:.2f} USD per month")
        if self.irreversible:
            lines.append("This cannot be undone.")
        return "\n".join(lines)


# The answer of a confirmed tool: a preview awaiting confirmation, or the outcome.
class Confirmable(BaseModel, Generic[ResultT]):
    status: Literal["needs_confirmation", "done", "declined"]
    preview: Preview
    confirmation_token: str | None = Field(None, description="pass back once the user agrees")
    result: ResultT | None = None
    message: str


class Approve(BaseModel):
    """The elicitation form: accepting it (with `confirm` left true) lets the action happen once."""

    confirm: bool = Field(True, title="Yes, do it")


@dataclass
class Prepared:
    """What the `prepare` resolver found before the user is asked; the tool body acts on it."""

    how: str = TOKEN
    preview: Preview | None = None
    ticket: str | None = None
    error: Exception | None = None


@dataclass
class _Pending:
    tool: str
    arguments: str
    principal: str
    preview: str
    expires_at: float


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _arguments_of(params: BaseModel) -> str:
    return _fingerprint(params.model_dump(mode="json", exclude={TOKEN_ARGUMENT}))


def _client_can_elicit(ctx: Context | None) -> bool:
    """Form elicitation declared, as the SDK checks it (a bare `elicitation: {}` counts as form)."""
    try:
        capabilities = ctx.client_capabilities if ctx is not None else None
    except (ValueError, AttributeError):  # no active request (a direct call, outside MCP)
        return False
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


# ---------------------------------------------------------------------------------------------- caps


def _recipients(params: BaseModel) -> int:
    """How many people a send reaches: `to_number` may be one number or a list."""
    to = getattr(params, "to_number", None)
    return len(to) if isinstance(to, list | tuple) else 1


@dataclass(frozen=True)
class Cap:
    setting: str  # attribute of config.Caps
    window_seconds: float
    unit: str
    option: str
    count: Callable[[BaseModel], int]


CAPS = {
    "purchase_number": Cap(
        "purchases_per_day",
        86400,
        "purchases per day (rolling 24 hours)",
        "--max-purchases-per-day",
        lambda _: 1,
    ),
    "send_sms": Cap("sms_per_hour", 3600, "SMS per hour (rolling)", "--max-sms-per-hour", _recipients),
}


# ---------------------------------------------------------------------------------------------- audit


class AuditLog:
    """Append-only JSON lines. Each entry is one `os.write` of a whole line on an O_APPEND descriptor,
    then fsync: a crash can lose at most the entry being written, never half of one or an older one."""

    FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT

    def __init__(self, path: Path) -> None:
        self.path = path
        try:  # fail at start, not at the first purchase
            os.close(os.open(path, self.FLAGS, 0o600))
        except OSError as exc:
            raise ConfigError(f"cannot open the audit log {path}: {exc.strerror}") from None

    def write(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, default=str) + "\n").encode()  # ASCII-escaped: never a raw newline
        try:
            fd = os.open(self.path, self.FLAGS, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            logger.error("could not append to the audit log %s: %s", self.path, exc.strerror)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: "[redacted]" if k == TOKEN_ARGUMENT else _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


@dataclass
class AuditRecord:
    """One write-tool call's audit lines: `started` just before the API is asked to act (so a crash in the
    middle still leaves a trace), then the outcome, both carrying the same `call` id."""

    tool: str
    arguments: dict[str, Any]
    principal: str
    log: AuditLog | None = None  # None: a read, or no audit log configured
    confirmation: str = NOT_REQUIRED
    outcome: str = "done"
    detail: str | None = None
    call: str = field(default_factory=lambda: secrets.token_hex(6))

    def started(self) -> None:
        """Say, durably, that the API is about to be asked to act."""
        self._write("started")

    def finish(self) -> None:
        self._write(self.outcome)

    def _write(self, outcome: str) -> None:
        if self.log is None:
            return
        entry = {
            "time": _stamp(time.time()),
            "call": self.call,
            "tool": self.tool,
            "arguments": _redacted(self.arguments),
            "principal": self.principal,
            "confirmation": self.confirmation,
            "outcome": outcome,
        }
        if self.detail and outcome == self.outcome:
            entry["reason" if outcome == "refused" else "message"] = redact(self.detail)
        self.log.write(entry)


# ---------------------------------------------------------------------------------------------- guardrails


# What a confirmed tool's description adds, by --confirm mode.
DESCRIPTIONS = {
    ConfirmMode.TOKEN: "Needs the user's OK: the first call only previews and returns a confirmation_token; "
    "show the preview, and only if they agree call again with the same arguments and the token.",
    ConfirmMode.ELICIT: "The user is asked to confirm before anything happens.",
    ConfirmMode.AUTO: "Needs the user's OK: asked directly, or the first call previews and returns a "
    "confirmation_token to pass back, same arguments, once they agree.",
}


class Guardrails:
    """Confirmation, caps and audit state for one server process."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._pending: dict[str, _Pending] = {}
        self._latest_ticket: dict[tuple[str, str, str], str] = {}
        self._acts: dict[str, list[float]] = {}
        self._key_principal = _fingerprint(settings.api_key.reveal())[:16]
        self.audit_log = AuditLog(settings.audit_log) if settings.audit_log else None

    @staticmethod
    def output_model(result_model: type[BaseModel]) -> type[BaseModel]:
        return Confirmable[result_model]  # type: ignore[valid-type]

    def requires_confirmation(self, spec: ToolSpec) -> bool:
        return spec.needs_confirmation and (spec.guardrail != "outbound" or self.settings.confirm_sms)

    def description_suffix(self, spec: ToolSpec) -> str:
        return DESCRIPTIONS[self.settings.confirm_mode] if self.requires_confirmation(spec) else ""

    def principal_for(self, ctx: Context | None) -> str:
        """Who is calling: the API key, narrowed to the MCP session over HTTP (stdio serves one user).

        The session id is issued and checked by the SDK's HTTP transport, so a caller cannot borrow
        another session's tokens by sending its id."""
        session = None
        try:
            headers = ctx.headers if ctx is not None else None
            session = headers.get("mcp-session-id") if headers else None
        except (ValueError, AttributeError):
            pass
        return _fingerprint(f"{self._key_principal}|{session}")[:16] if session else self._key_principal

    def confirmation_for(self, spec: ToolSpec, ctx: Context | None) -> str:
        if not self.requires_confirmation(spec):
            return NOT_REQUIRED
        mode = self.settings.confirm_mode
        if mode != ConfirmMode.TOKEN and _client_can_elicit(ctx):
            return ELICITATION
        if mode == ConfirmMode.ELICIT:
            raise GuardrailError(
                f"{spec.name} needs the user's confirmation by elicitation (this server runs with --confirm elicit), "
                "but this client does not support form elicitation. Nothing was done. Use a client that supports "
                "elicitation, or ask the operator to run with --confirm auto (confirmation tokens)."
            )
        return TOKEN

    # -- caps

    def _cap_refusal(self, tool: str, params: BaseModel) -> str | None:
        caps = self.settings.caps
        cap = CAPS.get(tool)
        if cap is None:
            return None
        count = cap.count(params)
        if tool == "send_sms" and count > caps.sms_recipients:
            return (
                f"Refused: {count} recipients is over the cap of {caps.sms_recipients} recipients per send_sms "
                "(operator option --max-sms-recipients). Nothing was sent; send to fewer people."
            )
        limit = getattr(caps, cap.setting)
        now = self.clock()
        stamps = self._acts.setdefault(cap.setting, [])
        stamps[:] = sorted(s for s in stamps if s > now - cap.window_seconds)
        if len(stamps) + count <= limit:
            return None
        if count > limit:
            reset = "it never resets for this request: it is larger than the cap"
        else:
            frees_at = stamps[len(stamps) + count - limit - 1] + cap.window_seconds
            reset = f"the next is allowed at {_stamp(frees_at)} (in {_duration(frees_at - now)})"
        return (
            f"Refused: the cap of {limit} {cap.unit} is reached ({len(stamps)} used by this server); {reset}. "
            f"Nothing was done. (Operator option {cap.option}.)"
        )

    def check_caps(self, tool: str, params: BaseModel) -> None:
        if refusal := self._cap_refusal(tool, params):
            raise GuardrailError(refusal)

    def _reserve(self, tool: str, params: BaseModel) -> Callable[[], None]:
        """Count this act now, before its request: no await between the check and the count."""
        self.check_caps(tool, params)
        cap = CAPS.get(tool)
        if cap is None:
            return lambda: None
        stamps = self._acts.setdefault(cap.setting, [])
        mine = [self.clock()] * cap.count(params)
        stamps.extend(mine)

        def undo() -> None:
            for stamp in mine:
                if stamp in stamps:
                    stamps.remove(stamp)

        return undo

    # -- pending tokens and tickets

    def _issue(self, tool: str, arguments: str, principal: str, preview: Preview) -> str:
        now = self.clock()
        self._pending = {k: v for k, v in self._pending.items() if v.expires_at > now}
        token = secrets.token_urlsafe(18)
        self._pending[token] = _Pending(
            tool, arguments, principal, _fingerprint(preview.model_dump()), now + TOKEN_TTL_SECONDS
        )
        return token

    def _redeem(self, token: str, tool: str, arguments: str, principal: str) -> _Pending:
        # Popped before any await: a token confirms one call, however many arrive at once.
        pending = self._pending.pop(token, None)
        if pending is None:
            raise GuardrailError(
                "confirmation_token is not valid (unknown, already used, or made up). Nothing was done. "
                "Call again without it to get a fresh preview and show it to the user."
            )
        if pending.expires_at <= self.clock():
            raise GuardrailError(
                "confirmation_token has expired (5 minutes). Nothing was done. Call again without it for a fresh preview."
            )
        if pending.tool != tool or pending.principal != principal:
            raise GuardrailError(
                f"confirmation_token was issued for another tool or caller, not {tool}. Nothing was done."
            )
        if pending.arguments != arguments:
            raise GuardrailError(
                "confirmation_token was issued for other arguments. Nothing was done. "
                "Confirm exactly what the user saw, or call again without a token for a new preview."
            )
        return pending

    def _ticket_for(self, call: ToolCall, arguments: str, preview: Preview) -> str:
        """The ticket the question names. A later round of the same call (2026-07-28) must ask the very
        same question, so it reuses the still-pending ticket; a first round always gets a new one."""
        principal = self.principal_for(call.ctx)
        key = (principal, call.spec.name, arguments)
        resuming = call.ctx is not None and (call.ctx.input_responses or call.ctx.request_state)
        ticket = self._latest_ticket.get(key)
        pending = self._pending.get(ticket) if ticket and resuming else None
        if (
            pending is None
            or pending.expires_at <= self.clock()
            or pending.preview != _fingerprint(preview.model_dump())
        ):
            ticket = self._issue(call.spec.name, arguments, principal, preview)
            self._latest_ticket[key] = ticket
        assert ticket is not None
        return ticket

    # -- the confirmation flow

    async def prepare(self, call: ToolCall, arguments: dict[str, Any]) -> Prepared:
        """Run by the tool's resolver before the user is asked. Failures are kept, not raised, so the
        tool body reports them through the runner's error mapping (and the audit log)."""
        from cs_mcp.handlers import preview_for

        prepared = Prepared()
        try:
            prepared.how = self.confirmation_for(call.spec, call.ctx)
            if prepared.how != ELICITATION:
                return prepared
            try:
                params = call.spec.input_model.model_validate(arguments)
            except ValidationError:
                return Prepared(how=prepared.how)  # the body reports the arguments' problems
            prepared.preview = await preview_for(call, params)
            self.check_caps(call.spec.name, params)
            prepared.ticket = self._ticket_for(call, _arguments_of(params), prepared.preview)
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
            f"Accept to do this once; decline and nothing changes. (ref {prepared.ticket[:8]})",
            Approve,
        )

    async def confirm_then(
        self,
        call: ToolCall,
        params: BaseModel,
        act: Callable[[ToolCall, BaseModel], Awaitable[BaseModel]],
        prepared: Prepared | None = None,
        consent: ElicitationResult[Approve] | None = None,
    ) -> BaseModel:
        record = call.audit or AuditRecord(call.spec.name, {}, "")
        if prepared is None:  # called outside the MCP tool entry point: no elicitation possible
            prepared = Prepared(how=self.confirmation_for(call.spec, call.ctx))
        record.confirmation = prepared.how
        if prepared.error is not None:
            raise prepared.error
        if prepared.how == ELICITATION:
            answer = await self._elicited(call, params, act, prepared, consent)
        elif prepared.how == TOKEN:
            answer = await self._tokened(call, params, act)
        else:
            from cs_mcp.handlers import preview_for

            answer = await self._act(call, params, act, await preview_for(call, params))
        record.outcome = answer.status
        return answer

    async def _elicited(
        self,
        call: ToolCall,
        params: BaseModel,
        act: Callable[[ToolCall, BaseModel], Awaitable[BaseModel]],
        prepared: Prepared,
        consent: ElicitationResult[Approve] | None,
    ) -> Confirmable[Any]:
        from cs_mcp.handlers import preview_for

        assert prepared.ticket is not None and prepared.preview is not None
        accepted = (
            isinstance(consent, AcceptedElicitation)
            and isinstance(consent.data, Approve)
            and consent.data.confirm
        )
        if not accepted:
            self._pending.pop(prepared.ticket, None)
            verb = "cancelled" if getattr(consent, "action", None) == "cancel" else "declined"
            return Confirmable[Any](
                status="declined",
                preview=prepared.preview,
                message=f"The user {verb}: nothing was done. Don't retry unless the user asks for it again.",
            )
        arguments = _arguments_of(params)
        pending = self._redeem(prepared.ticket, call.spec.name, arguments, self.principal_for(call.ctx))
        preview = await preview_for(call, params)
        if pending.preview != _fingerprint(preview.model_dump()):
            raise GuardrailError(
                "The target changed after the user was asked; nothing was done. It is now:\n"
                f"{preview.describe()}\nCall again to ask the user about this."
            )
        return await self._act(call, params, act, preview)

    async def _tokened(
        self, call: ToolCall, params: BaseModel, act: Callable[[ToolCall, BaseModel], Awaitable[BaseModel]]
    ) -> Confirmable[Any]:
        from cs_mcp.handlers import preview_for

        token = getattr(params, TOKEN_ARGUMENT, None)
        arguments = _arguments_of(params)
        principal = self.principal_for(call.ctx)
        if not token:
            preview = await preview_for(call, params)
            self.check_caps(call.spec.name, params)
            return self._needs_confirmation(call, arguments, principal, preview)
        # Redeemed before anything else: a bad token costs no API request, and a good one is gone at once.
        pending = self._redeem(token, call.spec.name, arguments, principal)
        preview = await preview_for(call, params)
        if pending.preview != _fingerprint(preview.model_dump()):
            answer = self._needs_confirmation(call, arguments, principal, preview)
            answer.message = (
                "The target changed since the preview; nothing was done. Show this new preview to the user."
            )
            return answer
        return await self._act(call, params, act, preview)

    async def _act(
        self,
        call: ToolCall,
        params: BaseModel,
        act: Callable[[ToolCall, BaseModel], Awaitable[BaseModel]],
        preview: Preview,
    ) -> Confirmable[Any]:
        """Act once. Never repeated here: a lost answer is reconciled (or reported), not retried."""
        from cs_mcp.handlers import reconciler_for

        reconciler = reconciler_for(call.spec)
        snapshot = await reconciler.snapshot(call, params) if reconciler and reconciler.snapshot else None
        undo = self._reserve(call.spec.name, params)
        message = "Done: " + preview.action
        if call.audit is not None:
            call.audit.started()
        try:
            result = await act(call, params)
        except WriteOutcomeUnknown as lost:
            if reconciler is None:
                raise
            try:
                found = await reconciler.check(call, params, snapshot)
            except CallScalerError:
                raise lost from None
            if found is None:
                undo()
                raise ToolError(
                    f"{call.spec.name}: CallScaler's answer was lost ({lost.message}), and a check afterwards shows "
                    "it did NOT happen: nothing was done, and it was not retried. To try again, call again "
                    "(the user confirms again)."
                ) from None
            result = found
            message = f"Done, checked afterwards because CallScaler's answer was lost (it happened once): {preview.action}"
        except CallScalerError:
            undo()  # refused by the API or never sent: it did not happen, so it does not count
            raise
        return self.output_model(call.spec.output_model)(
            status="done", preview=preview, result=result, message=message
        )

    def _needs_confirmation(
        self, call: ToolCall, arguments: str, principal: str, preview: Preview
    ) -> Confirmable[Any]:
        token = self._issue(call.spec.name, arguments, principal, preview)
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
        self, spec: ToolSpec, arguments: dict[str, Any], ctx: Context | None
    ) -> Iterator[AuditRecord]:
        """Record one write tool call: who, what, how it was confirmed and what came of it."""
        log = self.audit_log if spec.writes else None
        record = AuditRecord(spec.name, dict(arguments), self.principal_for(ctx), log)
        try:
            yield record
        except ToolError as exc:
            # The runner re-raises every failure as a ToolError; what it replaced tells refusal from error.
            refused = isinstance(exc.__context__, GuardrailError | ValidationError)
            record.outcome, record.detail = ("refused" if refused else "error"), str(exc)
            raise
        except BaseException as exc:
            record.outcome, record.detail = "error", type(exc).__name__
            raise
        finally:
            record.finish()

    def audit_hidden(
        self, spec: ToolSpec, arguments: dict[str, Any], ctx: Context | None, reason: str
    ) -> None:
        """A write tool this server hides was called anyway: refused before anything, and on the record."""
        if spec.writes:
            record = AuditRecord(spec.name, dict(arguments), self.principal_for(ctx), self.audit_log)
            record.outcome, record.detail = "refused", reason
            record.finish()
