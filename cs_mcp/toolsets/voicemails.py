"""Voicemails: the inbox, one voicemail with its transcription, and its audio (attached when it fits the
output budget, else linked; `audio_result` delivers a call recording the same way)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from mcp_types import AudioContent, CallToolResult, ResourceLink, TextContent
from pydantic import AfterValidator, Field

from cs_mcp.budget import clip, measure, text_room
from cs_mcp.filters import Before, Contains, Match, Since
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page
from cs_mcp.models import ApiObject, Day, Id, LazyModel, ToolInput, UntrustedText
from cs_mcp.rendering import render
from cs_mcp.spec import ToolFunctions
from cs_mcp.token_count import within

if TYPE_CHECKING:
    from cs_mcp.client import RawResponse

SNIPPET_CHARS = 100
# Undeclared voicemail fields that hold the system's data; anything else the API adds is untrusted.
VOICEMAIL_SYSTEM_FIELDS = frozenset({"call_id", "tracking_number", "created_at"})

# A list item shows the start of the transcription; get_voicemail has all of it.
Snippet = Annotated[UntrustedText, AfterValidator(lambda text: clip(text, SNIPPET_CHARS)[0])]


class VoicemailItem(ApiObject):
    trusted_extras = VOICEMAIL_SYSTEM_FIELDS

    id: str | None = None
    created_at: str | None = None
    caller_number: str | None = None
    caller_name: UntrustedText | None = None
    tracking_number: str | None = None
    duration_seconds: int | None = None
    listened: bool | None = None
    transcription: Snippet | None = None


VoicemailPage = Page[VoicemailItem]


class ListVoicemails(ListQuery):
    caller: Annotated[
        str | None,
        Field(max_length=60, description="number or name"),
        Contains(("caller_number", "caller_name")),
    ] = None
    tracking_number: Annotated[str | None, Field(max_length=20), Contains(("tracking_number",))] = None
    listened: Annotated[bool | None, Match("listened")] = None
    since: Annotated[Day | None, Since("created_at")] = None
    before: Annotated[Day | None, Before("created_at")] = None
    text: Annotated[
        str | None, Field(max_length=60, description="in the transcription"), Contains(("transcription",))
    ] = None


class Voicemail(ApiObject):
    """Every field the API sends comes through; those declared here are typed or untrusted, and the
    others untrusted unless they are the system's (VOICEMAIL_SYSTEM_FIELDS)."""

    trusted_extras = VOICEMAIL_SYSTEM_FIELDS

    id: str
    caller_number: str | None = None
    caller_name: UntrustedText | None = None
    transcription: UntrustedText | None = None
    note: str | None = None


class VoicemailId(ToolInput):
    voicemail_id: Id


# Served by cs_mcp/resources.py, which fetches the audio with the server's key when a client reads it.
RECORDING_URI = "callscaler://voicemails/{voicemail_id}/recording"


class Audio(LazyModel):
    """What an audio result says beside the audio: how large it is, and whether it is attached or linked."""

    media_type: str
    bytes: int
    duration_seconds: int | None = None
    delivery: Literal["inline", "link"] = Field(description="inline: audio content attached; link: read uri")
    uri: str
    note: str | None = None

    @classmethod
    def of(cls, raw: RawResponse, **fields: Any) -> Self:
        media_type = raw.media_type.split(";")[0].strip() or "audio/mpeg"
        return cls(media_type=media_type, bytes=len(raw.content), delivery="inline", **fields)


class Recording(Audio):
    voicemail_id: str


def audio_result(call: ToolCall, raw: RawResponse, info: Audio, link_name: str) -> CallToolResult:
    """The audio inline (base64 MCP audio content) when it fits the output budget, else a link to `info.uri`
    (a resource of cs_mcp/resources.py) named `link_name`."""
    encoded = base64.b64encode(raw.content).decode("ascii")
    room = call.settings.max_output_tokens - measure(info).tokens - 100
    if within(encoded, room):
        media: AudioContent | ResourceLink = AudioContent(
            type="audio", data=encoded, mime_type=info.media_type
        )
    else:
        info.delivery = "link"
        info.note = (
            f"the audio ({info.bytes} bytes) is over the {call.settings.max_output_tokens}-token output budget, "
            "so it is linked: the client can read the resource uri"
        )
        media = ResourceLink(type="resource_link", uri=info.uri, name=link_name, mime_type=info.media_type)
    return CallToolResult(
        content=[TextContent(type="text", text=render(info)), media],
        structured_content=info.model_dump(mode="json", exclude_none=True),
    )


async def get_voicemail(call: ToolCall, params: VoicemailId) -> Voicemail:
    data = await call.api.voicemails.get(params.voicemail_id)
    text, cut = clip(data.get("transcription"), text_room(call.settings.max_output_tokens))
    return Voicemail.model_validate(
        {**data, "transcription": text, "note": "transcription cut to fit the output budget" if cut else None}
    )


async def get_voicemail_recording(call: ToolCall, params: VoicemailId) -> CallToolResult:
    meta = await call.api.voicemails.get(params.voicemail_id)
    raw = await call.api.voicemails.recording(params.voicemail_id)
    info = Recording.of(
        raw,
        voicemail_id=str(params.voicemail_id),
        duration_seconds=meta.get("duration_seconds"),
        uri=RECORDING_URI.format(voicemail_id=params.voicemail_id),
    )
    return audio_result(call, raw, info, f"voicemail-{info.voicemail_id}")


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "get_voicemail": ToolFunctions(handler=get_voicemail),
    "get_voicemail_recording": ToolFunctions(handler=get_voicemail_recording),
}
