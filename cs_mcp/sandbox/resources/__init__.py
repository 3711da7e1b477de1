"""The API's endpoints, one module per resource; each module's `routes` holds its endpoints and handlers."""

from __future__ import annotations

from cs_mcp.sandbox.resources import (
    call_flows,
    calls,
    forms,
    messaging,
    number_groups,
    number_pools,
    numbers,
    reporting,
    voicemails,
)
from cs_mcp.sandbox.routes import Endpoint

RESOURCES = (numbers, call_flows, messaging, number_groups, number_pools, voicemails, forms, reporting, calls)
ENDPOINTS: tuple[Endpoint, ...] = tuple(e for resource in RESOURCES for e in resource.routes.endpoints)
