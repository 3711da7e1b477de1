"""`cs-mcp sandbox`: a sandbox served over HTTP."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cs_mcp.sandbox.auth import SANDBOX_KEYS
from cs_mcp.sandbox.formats import BASE_PATH
from cs_mcp.sandbox.simulator import Sandbox


def run_server(host: str = "127.0.0.1", port: int = 8700, scale: int = 1, faults: Sequence[str] = ()) -> None:
    """Serve a sandbox over HTTP until interrupted. Fault specs as in the package docstring."""
    import uvicorn  # only the HTTP server needs it

    sandbox = Sandbox(scale=scale)
    for spec in faults:
        sandbox.faults.add_spec(spec)
    keys = ", ".join(f"{role}={key}" for role, key in SANDBOX_KEYS.items())
    print(
        f"CallScaler sandbox on http://{host}:{port}{BASE_PATH} (scale {scale}); keys: {keys}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(sandbox.app, host=host, port=port, log_level="warning")
