"""The typed resource layer: one object per CallScaler API resource, each knowing its paths and the
shapes of its answers, so no toolset writes a path or unwraps an answer by hand.

`CallScalerClient` (cs_mcp/client.py) carries the transport: auth, the `data` envelope, errors and
retries. On top of it, `client.numbers`, `client.call_flows`, ... send through that one client and turn
what comes back into what the toolsets use: typed models where several modules read the object
(`Number`, the normalised `CallFlow`, the acknowledgements of deletions), and checked item dicts for
collections, which the summaries filter and count as they are (see `resource.py` for why). An answer of
the wrong shape is one clear error: `MalformedResponse` for a read, `WriteOutcomeUnknown` for a write,
which may have been applied all the same.
"""

from cs_mcp.api.call_flows import CallFlows
from cs_mcp.api.calls import Calls
from cs_mcp.api.endpoints import Endpoints
from cs_mcp.api.forms import Forms
from cs_mcp.api.messaging import Texts
from cs_mcp.api.number_groups import NumberGroups
from cs_mcp.api.number_pools import NumberPools
from cs_mcp.api.numbers import Numbers
from cs_mcp.api.voicemails import Voicemails
from cs_mcp.api.webhooks import Webhooks

__all__ = [
    "CallFlows",
    "Calls",
    "Endpoints",
    "Forms",
    "NumberGroups",
    "NumberPools",
    "Numbers",
    "Texts",
    "Voicemails",
    "Webhooks",
]
