"""Running one tool call end to end, whatever the transport: validate, guard, act, answer.

`Runner.run` validates the arguments with the tool's own model (clear errors, nothing sent), runs the
handler (writes through the guardrails), then sends back the typed result as `structuredContent`
plus a compact text rendering, within the output budget. Any failure becomes a tool error
(`isError: true`) with a message that says what to do; nothing a tool does can crash the server.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import AudioContent, CallToolResult, ImageContent, TextContent
from pydantic import BaseModel, ValidationError

from cs_mcp.budget import Measured, measure
from cs_mcp.client import CallScalerClient
from cs_mcp.config import Settings
from cs_mcp.errors import CallScalerError, PermissionDenied
from cs_mcp.guardrails import Approve, GuardrailError, Guardrails, Prepared
from cs_mcp.handlers import ToolCall
from cs_mcp.hosted.principals import Principals
from cs_mcp.listing import QueryError
from cs_mcp.secrets import contains_secret, redact
from cs_mcp.spec import ToolSpec

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

logger = logging.getLogger("cs_mcp.runner")
MODERN_PROTOCOL = "2026-07-28"
# Where the role a 403 contradicts came from, by how the caller signed in.
CLAIMED_ROLE = {
    "server": "this server is configured as {role}",
    "header": "your X-CallScaler-Role header claims {role}; send the key's real role",
    "oauth": "you chose the {role} role when connecting; reconnect and choose the key's real role",
}


@dataclass
class AppState:
    """What every call of one server shares: the API client (one connection pool) and the guardrails."""

    api: CallScalerClient
    guardrails: Guardrails


def format_validation_error(tool: str, model: type[BaseModel], exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            # Name the real arguments: a model guessing `start_date` learns that it is `since` here.
            takes = ", ".join(model.model_fields) if len(error["loc"]) == 1 else ""
            message = (
                f"is not an argument of this tool (it takes {takes})"
                if takes
                else "is not a known field here"
            )
        elif error["type"] == "missing":
            message = "is required"
        elif error["type"] == "value_error":  # our own validators' messages, without pydantic's prefix
            message = message.removeprefix("Value error, ")
        problems.append(f"`{where}` {message}")
    return (
        f"Invalid arguments for {tool}: "
        + "; ".join(problems)
        + ". Nothing was sent; fix them and call again."
    )


class Runner:
    """Runs catalogue tool calls for one server's settings."""

    def __init__(self, settings: Settings, catalogue: Sequence[ToolSpec]) -> None:
        self.settings = settings
        self.catalogue = tuple(catalogue)
        self.principals = Principals(settings)

    def _call(
        self, spec: ToolSpec, ctx: Context[AppState, Any] | None, state: AppState, audit: Any = None
    ) -> ToolCall:
        return ToolCall(
            spec=spec,
            api=state.api,
            # The caller's role: what get_capabilities reports and hides (hosted: each caller's own).
            settings=self.settings.for_role(self.principals.current().role),
            guardrails=state.guardrails,
            ctx=ctx,
            audit=audit,
            catalogue=self.catalogue,
        )

    async def prepare(
        self, spec: ToolSpec, ctx: Context[AppState, Any], state: AppState, arguments: dict[str, Any]
    ) -> Prepared:
        """Before the user is asked (elicitation): the preview and its single-use ticket."""
        return await state.guardrails.prepare(self._call(spec, ctx, state), arguments)

    def failure_message(self, spec: ToolSpec, exc: Exception) -> str:
        """What the caller is told when a tool fails: the cause and how to fix it, never a secret."""
        if isinstance(exc, ToolError | GuardrailError | QueryError):
            return redact(str(exc))
        if isinstance(exc, PermissionDenied):
            principal = self.principals.current()
            role = principal.role.label
            claimed = CLAIMED_ROLE.get(principal.via, CLAIMED_ROLE["server"]).format(role=role)
            if exc.required_role:
                return (
                    f"{spec.name} was refused by CallScaler: it needs an API key with the {exc.required_role} role; "
                    f"{claimed}. {exc.message}"
                )
            return (
                f"{spec.name} was refused by CallScaler (403) without saying why: the API key's real role may be "
                f"lower than the {role} role it is used as ({claimed}), or the key may be "
                f"limited to certain numbers. Check the key's role in CallScaler (Settings, API Keys). {exc.message}"
            )
        if isinstance(exc, CallScalerError):
            return f"{spec.name} failed: {exc}"
        if isinstance(exc, ValidationError):
            logger.warning("%s: unexpected answer shape: %s", spec.name, exc)
            return (
                f"{spec.name} failed: CallScaler's answer did not have the expected shape "
                f"({exc.error_count()} problem(s), logged on the server). Try again; report it if it persists."
            )
        logger.exception("unexpected failure in %s", spec.name, exc_info=exc)
        return f"{spec.name} failed with an internal error (logged on the server); nothing more is known."

    async def run(
        self,
        spec: ToolSpec,
        ctx: Context[AppState, Any] | None,
        state: AppState,
        arguments: dict[str, Any],
        prepared: Prepared | None = None,
        consent: ElicitationResult[Approve] | None = None,
    ) -> CallToolResult:
        with state.guardrails.audited(spec, arguments, ctx) as record:
            try:
                params = spec.input_model.model_validate(arguments)
                call = self._call(spec, ctx, state, record)
                if spec.writes:
                    result = await state.guardrails.write(call, params, prepared, consent)
                else:
                    result = await spec.handler(call, params)
                if not isinstance(result, CallToolResult):
                    return to_result(result, self.settings.max_output_tokens, spec.name)
            except ValidationError as exc:
                if exc.title != spec.input_model.__name__:  # an answer's shape, not the arguments
                    raise ToolError(self.failure_message(spec, exc)) from exc
                raise ToolError(format_validation_error(spec.name, spec.input_model, exc)) from None
            except Exception as exc:
                message = self.failure_message(spec, exc)
                if isinstance(exc, CallScalerError):  # the API failed: worth a line in the client's log too
                    logger.warning("%s", message)
                    await log_to_client(ctx, "warning", message)
                raise ToolError(message) from exc
        return without_secrets(result)


async def log_to_client(ctx: Context[Any, Any] | None, level: str, message: str) -> None:
    """MCP logging (notifications/message) for clients on the 2025-11-25 era and earlier; the capability
    is deprecated from 2026-07-28 (SEP-2577), where stderr remains the log. Never fails a call."""
    if ctx is None or (ctx.protocol_version or "") >= MODERN_PROTOCOL:
        return
    try:
        with warnings.catch_warnings():  # the SDK flags the capability as deprecated even where it is not
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await ctx.log(level, message, logger_name="cs_mcp")  # type: ignore[arg-type]
    except Exception:
        logger.debug("log notification not sent", exc_info=True)


def without_secrets(result: CallToolResult) -> CallToolResult:
    """The result with any API key masked, should the API ever echo one inside its data.

    Base64 audio and images are left as they are: they are not text anyone reads, and masking a run
    that happens to look like a piece of a secret (a silent MP3 is long runs of `A`) corrupts them."""
    media = {
        at: block for at, block in enumerate(result.content) if isinstance(block, AudioContent | ImageContent)
    }
    text = result.model_copy(
        update={"content": [b for at, b in enumerate(result.content) if at not in media]}
    )
    wire = text.model_dump_json(by_alias=True)
    if not contains_secret(wire):
        return result
    cleaned = CallToolResult.model_validate_json(redact(wire))
    content = list(cleaned.content)
    for at in sorted(media):
        content.insert(at, media[at])
    return cleaned.model_copy(update={"content": content})


def to_result(result: BaseModel | Measured[Any], budget: int, tool: str) -> CallToolResult:
    """The answer as sent; a result the handler already measured (fitting it to the budget) is not
    rendered or counted again."""
    answer = result if isinstance(result, Measured) else measure(result)
    if not answer.fits(budget):
        raise ToolError(
            f"{tool}'s answer would be {answer.tokens} tokens, over the {budget}-token output budget; "
            "narrow the request (filters, a smaller limit, fewer fields, or a part of it)."
        )
    sent = CallToolResult(
        content=[TextContent(type="text", text=answer.text)], structured_content=answer.structured
    )
    # The copies as measured are the copies sent: scanned as they are, not serialised again.
    if contains_secret(answer.wire) or contains_secret(answer.text):
        return without_secrets(sent)
    return sent
