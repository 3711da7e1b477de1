"""Voicemails: list, read, and the recording."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from cs_mcp.sandbox.answers import audio, listing
from cs_mcp.sandbox.routes import Req, RouteTable
from cs_mcp.sandbox.store import Store

routes = RouteTable()


@routes.get("/voicemails")
def list_voicemails(store: Store, req: Req) -> dict[str, Any]:
    return listing("voicemails", store.state["voicemails"])


@routes.get("/voicemails/{id}")
def get_voicemail(store: Store, req: Req) -> dict[str, Any]:
    return store.item("voicemails", req.params["id"], "voicemail")


@routes.get("/voicemails/{id}/recording")
def voicemail_recording(store: Store, req: Req) -> Response:
    voicemail = store.item("voicemails", req.params["id"], "voicemail")
    return audio(voicemail["duration_seconds"])
