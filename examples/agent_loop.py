"""An agent loop over cs_mcp: the model picks tools, the loop runs them through the MCP SDK's client.

Run: python examples/agent_loop.py "Which numbers got no calls?"     (offline: a replayed model)
     ANTHROPIC_API_KEY=... python examples/agent_loop.py --anthropic "..."   (needs `pip install anthropic`)

What carries over to any agent framework:
- tools come from `tools/list` with their input schemas, passed to the model unchanged;
- the model answers from `structuredContent` (or the compact text) of each result;
- a tool error (`isError`) goes back to the model as an error, so it can fix its arguments;
- a result with status "needs_confirmation" is shown to the human, and the loop itself never sends
  the confirmation token without the human's yes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters


@dataclass
class ToolUse:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass
class Turn:
    text: str = ""
    tool_uses: list[ToolUse] = field(default_factory=list)


class Model(Protocol):
    async def next_turn(self, transcript: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Turn: ...


class ReplayModel:
    """A stand-in for an LLM so the loop runs offline: it replays the turns a model would take."""

    def __init__(self) -> None:
        self.turns = iter(
            [
                Turn(tool_uses=[ToolUse("list_numbers", {"has_calls": False, "limit": 10}, "t1")]),
                Turn(
                    tool_uses=[ToolUse("get_number", {"number": "+00"}, "t2")]
                ),  # a mistake the loop reports back
            ]
        )

    async def next_turn(self, transcript: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Turn:
        turn = next(self.turns, None)
        if turn is not None:
            return turn
        numbers = next(m["content"] for m in transcript if m.get("tool") == "list_numbers")
        return Turn(
            text=f"{numbers['total']} numbers have had no calls: "
            + ", ".join(f"{n['phone_number']} ({n.get('name', 'unnamed')})" for n in numbers["items"])
        )


class AnthropicModel:
    """The same loop with Claude (Messages API tool use)."""

    def __init__(self) -> None:
        import anthropic  # optional: only this model needs it

        self.client = anthropic.AsyncAnthropic()
        self.messages: list[dict[str, Any]] = []
        self.seen = 0  # transcript entries already sent

    async def next_turn(self, transcript: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Turn:
        new = transcript[self.seen :]
        self.seen = len(transcript)
        if new[0]["role"] == "user":
            self.messages.append({"role": "user", "content": new[0]["content"]})
        else:
            results = [
                {
                    "type": "tool_result",
                    "tool_use_id": m["tool_use_id"],
                    "content": json.dumps(m["content"]),
                    "is_error": m["is_error"],
                }
                for m in new
            ]
            self.messages.append({"role": "user", "content": results})
        response = await self.client.messages.create(
            model=os.environ.get("ANTHROPIC_MODEL", "claude-sonnet-4-5"),
            max_tokens=1500,
            messages=self.messages,
            tools=[
                {"name": t["name"], "description": t["description"], "input_schema": t["inputSchema"]}
                for t in tools
            ],
        )
        self.messages.append({"role": "assistant", "content": response.content})
        return Turn(
            text="".join(b.text for b in response.content if b.type == "text"),
            tool_uses=[ToolUse(b.name, b.input, b.id) for b in response.content if b.type == "tool_use"],
        )


def ask_human(preview: dict[str, Any]) -> bool:
    print(f"\nThe assistant wants to: {preview['preview']['action']}")
    return sys.stdin.isatty() and input("Allow? [y/N] ").strip().lower() == "y"


async def run(question: str, model: Model, server: StdioServerParameters, max_steps: int = 8) -> str:
    async with Client(server) as client:
        tools = [
            t.model_dump(mode="json", by_alias=True, exclude_none=True)
            for t in (await client.list_tools()).tools
        ]
        transcript: list[dict[str, Any]] = [{"role": "user", "content": question}]
        for step in range(max_steps):
            turn = await model.next_turn(transcript, tools)
            if not turn.tool_uses:
                return turn.text
            for use in turn.tool_uses:
                result = await client.call_tool(use.name, use.arguments)
                content = result.structured_content or {"text": result.content[0].text}
                if not result.is_error and content.get("status") == "needs_confirmation":
                    if ask_human(content):
                        token = {"confirmation_token": content["confirmation_token"]}
                        result = await client.call_tool(use.name, {**use.arguments, **token})
                        content = result.structured_content or {"text": result.content[0].text}
                    else:
                        content = {"status": "declined", "message": "The user said no; nothing was done."}
                print(
                    f"[{step}] {use.name}({use.arguments}) -> {'error' if result.is_error else 'ok'}",
                    file=sys.stderr,
                )
                transcript.append(
                    {
                        "role": "tool",
                        "tool": use.name,
                        "content": content,
                        "is_error": result.is_error,
                        "tool_use_id": use.id,
                    }
                )
        return "Stopped after too many steps."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default="Which numbers got no calls?")
    parser.add_argument("--anthropic", action="store_true", help="use Claude instead of the replayed model")
    parser.add_argument("--live", action="store_true", help="use CALLSCALER_API_KEY instead of the sandbox")
    args = parser.parse_args()
    serve = ["-m", "cs_mcp", "serve", "--role", "manager"] + ([] if args.live else ["--sandbox"])
    server = StdioServerParameters(command=sys.executable, args=serve, env=dict(os.environ))
    model: Model = AnthropicModel() if args.anthropic else ReplayModel()
    print(anyio.run(run, args.question, model, server))


if __name__ == "__main__":
    main()
