"""tools/list cost of cs_mcp and of peer MCP servers, measured in the same run and counted two ways:

- model-visible: per tool, `name`, `description` and `inputSchema` as compact JSON: what a client passes
  to the model as the tool's definition (annotations, output schemas, titles and icons stay client-side);
- wire: the whole `tools` array as the server sends it.

Peers (installed by `.ci/bench-peers` into .ci/cache/peers): callrail-mcp (PyPI) and the GitHub reference
server (npm `@modelcontextprotocol/server-github`). They start with dummy credentials; tools/list makes no
request, and their API base URLs and proxies point at a closed loopback port, so nothing leaves the machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import ROOT, Row, StdioServer, compact, cs_mcp_command, tokens

PEERS = ROOT / ".ci" / "cache" / "peers"
CLOSED_PORT = "http://127.0.0.1:9"  # discard: nothing listens; a stray request fails at once, locally
NO_NETWORK = {"HTTP_PROXY": CLOSED_PORT, "HTTPS_PROXY": CLOSED_PORT, "NO_PROXY": ""}


@dataclass(frozen=True)
class Peer:
    label: str
    argv: list[str]
    env: dict[str, str]


def peers() -> list[Peer]:
    github = PEERS / "node" / "node_modules" / "@modelcontextprotocol" / "server-github" / "dist" / "index.js"
    return [
        Peer(
            "callrail-mcp 1.3.1 (PyPI)",
            [str(PEERS / "callrail" / "bin" / "callrail-mcp")],
            {"CALLRAIL_API_KEY": "dummy-key-0000", "CALLRAIL_BASE_URL": CLOSED_PORT},
        ),
        Peer(
            "GitHub reference server 2025.4.8 (npm)",
            ["node", str(github)],
            {"GITHUB_PERSONAL_ACCESS_TOKEN": "dummy-token-0000", "GITHUB_API_URL": CLOSED_PORT},
        ),
    ]


def listed_tools(argv: list[str], env: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str]:
    """(the `tools` of tools/list as sent, the server's instructions)."""
    server = StdioServer(argv, env=env)
    try:
        instructions = server.initialize()
        return server.request("tools/list")["tools"], instructions
    finally:
        server.close()


def model_visible(tool: dict[str, Any]) -> int:
    return tokens(compact({k: tool[k] for k in ("name", "description", "inputSchema") if k in tool}))


def output_schema(tool: dict[str, Any]) -> int:
    return tokens(compact(tool["outputSchema"])) if "outputSchema" in tool else 0


@dataclass(frozen=True)
class ListCost:
    tools: int
    model_total: int
    wire_total: int
    output_schemas: int  # of the wire: typed results for the client, never shown to the model

    @property
    def model_per_tool(self) -> float:
        return self.model_total / self.tools

    @property
    def wire_per_tool(self) -> float:
        return self.wire_total / self.tools


def cost_of(tools: list[dict[str, Any]]) -> ListCost:
    return ListCost(
        len(tools),
        sum(map(model_visible, tools)),
        tokens(compact({"tools": tools})),
        sum(map(output_schema, tools)),
    )


def tool_list_rows(expected: dict[str, int]) -> list[Row]:
    """cs_mcp's viewer and manager lists, then each peer, with its per-tool cost as a multiple of cs_mcp
    viewer's, both ways.

    The target is what the model is given (issue 17's budgets, as tests/test_catalogue.py checks them). The
    old wire targets (< 5,000 / 9,000 tokens, < 200 a tool) predate typed output schemas: these describe
    every figure of a result (what `answered` counts, which period `7d` is) for the client, outside the
    model's context, and are about half the wire (viewer 3,912 of 8,369 tokens, 1,336 of them
    descriptions, no definition repeated within a tool and none shared with its inputSchema); without
    them the viewer list is ~4,460 tokens on the wire, within the old 5,000."""
    rows: list[Row] = []
    costs: dict[str, ListCost] = {}
    instructions = ""
    for role, target in (("viewer", 3500), ("manager", 6000)):
        tools, instructions = listed_tools([*cs_mcp_command(), "serve", "--sandbox", "--role", role])
        cost = costs[role] = cost_of(tools)
        rows.append(
            Row(
                "tools/list",
                f"cs_mcp {role}: {cost.tools} tools (expect {expected[role]}); model-visible / wire "
                f"(of it, output schemas {cost.output_schemas:,}: client-side)",
                f"{cost.model_per_tool:.0f} / {cost.wire_per_tool:.0f} tok/tool",
                f"{cost.model_total:,} / {cost.wire_total:,} tokens in all",
                "1.00x",
                f"model-visible < {target:,} tokens",
                cost.model_total < target and cost.tools == expected[role],
            )
        )
    # Conventions every list shares are stated once, in the instructions, instead of in each schema:
    # reported so that saving is not a cost moved out of sight.
    rows.append(
        Row(
            "tools/list",
            "cs_mcp server instructions (initialize, once a session)",
            f"{tokens(instructions)} tokens",
            "-",
            "-",
        )
    )
    ours = costs["viewer"]
    for peer in peers():
        if not os.path.exists(peer.argv[-1]):
            rows.append(
                Row("tools/list", f"{peer.label}: not installed (run .ci/bench-peers)", "-", "-", "-")
            )
            continue
        tools, _ = listed_tools(peer.argv, env={**os.environ, **NO_NETWORK, **peer.env})
        cost = cost_of(tools)
        rows.append(
            Row(
                "tools/list",
                f"{peer.label}: {cost.tools} tools; model-visible / wire (measured now)",
                f"{cost.model_per_tool:.0f} / {cost.wire_per_tool:.0f} tok/tool",
                f"{cost.model_total:,} / {cost.wire_total:,} tokens in all",
                f"{cost.model_per_tool / ours.model_per_tool:.2f}x / {cost.wire_per_tool / ours.wire_per_tool:.2f}x"
                " cs_mcp viewer's per tool",
            )
        )
    return rows
