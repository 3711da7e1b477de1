"""The `cs-mcp` command: serve, tools, call, demo, sandbox. See SPEC.md's command table."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from cs_mcp import __version__
from cs_mcp.config import Settings, add_common_options, settings_from
from cs_mcp.errors import ConfigError
from cs_mcp.secrets import RedactingFilter

COMMANDS = ("serve", "tools", "call", "demo", "sandbox")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cs-mcp", description="An MCP server for the CallScaler call-tracking API."
    )
    parser.add_argument("--version", action="version", version=f"cs-mcp {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="serve MCP over stdio (default) or Streamable HTTP")
    add_common_options(serve)
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--http-token", help="bearer token required over HTTP (env CS_MCP_HTTP_TOKEN)")
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        help="another Host name to answer over HTTP (repeatable)",
    )

    tools = commands.add_parser("tools", help="print the tool catalogue such a server would expose")
    add_common_options(tools)
    tools.add_argument("--json", action="store_true", help="machine-readable output")

    call = commands.add_parser("call", help="call one tool in-process and print its result")
    add_common_options(call)
    call.add_argument("tool")
    call.add_argument("arguments", nargs="*", metavar="key=value")
    call.add_argument("--json-args", help="arguments as one JSON object")
    call.add_argument("--json", action="store_true", help="print the structured result as JSON")

    commands.add_parser("demo", help="a scripted tour against the sandbox")

    sandbox = commands.add_parser("sandbox", help="serve the simulated CallScaler REST API over HTTP")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8700)
    sandbox.add_argument("--sandbox-scale", type=int, default=1)
    sandbox.add_argument("--fault", action="append", default=[], help="inject a fault, e.g. latency=20ms")
    return parser


def _configure_logging() -> None:
    # stdout carries MCP traffic in stdio mode: every log line goes to stderr, with secrets masked.
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("cs-mcp %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in {"-h", "--help", "--version"}):
        argv.insert(0, "serve")
    parser = _parser()
    # key=value pairs of `call` may come before or after options: argparse leaves them over.
    args, leftover = parser.parse_known_args(argv)
    if (
        leftover
        and args.command == "call"
        and all("=" in item and not item.startswith("-") for item in leftover)
    ):
        args.arguments = [*args.arguments, *leftover]
    elif leftover:
        parser.error(f"unrecognized arguments: {' '.join(leftover)}")
    _configure_logging()
    try:
        return _run(args)
    except ConfigError as exc:
        print(f"cs-mcp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `cs-mcp call ... | head`: the reader left; not an error of ours
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit, so the final flush is quiet
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "sandbox":
        from cs_mcp.sandbox import run_server

        run_server(host=args.host, port=args.port, scale=args.sandbox_scale, faults=args.fault)
        return 0
    if args.command == "demo":
        from cs_mcp.demo import run_demo

        return run_demo()
    settings = settings_from(args, require_key=args.command != "tools")
    if args.command == "tools":
        from cs_mcp.tools_table import print_tools

        print_tools(settings, as_json=args.json)
        return 0
    if args.command == "call":
        return _call(args, settings)
    return _serve(args, settings)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from cs_mcp.server import build_server

    if args.transport == "http":
        from cs_mcp.http import serve_http

        server = build_server(settings)
        serve_http(server, settings, args.host, args.port, args.allowed_host)
    else:
        build_server(settings).run("stdio")
    return 0


def parse_call_arguments(pairs: Sequence[str], json_args: str | None) -> dict[str, Any]:
    """key=value pairs (values read as JSON where they parse, else as text), merged over --json-args."""
    arguments: dict[str, Any] = {}
    if json_args:
        try:
            arguments = json.loads(json_args)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--json-args is not valid JSON: {exc.msg}") from None
        if not isinstance(arguments, dict):
            raise ConfigError("--json-args must be a JSON object")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"argument {pair!r} is not key=value")
        try:
            arguments[key] = json.loads(value)
        except json.JSONDecodeError:
            arguments[key] = value
    return arguments


def _call(args: argparse.Namespace, settings: Settings) -> int:
    import anyio

    from cs_mcp.inprocess import call_tool

    arguments = parse_call_arguments(args.arguments, args.json_args)
    result = anyio.run(call_tool, settings, args.tool, arguments)
    if args.json:
        print(
            json.dumps(
                result.structured_content
                if result.structured_content is not None
                else {"text": _text(result)},
                indent=2,
            )
        )
    else:
        print(_text(result))
    return 1 if result.is_error else 0


def _text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")
