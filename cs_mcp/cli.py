"""The `cs-mcp` command: serve, tools, call, demo, sandbox (`cs-mcp --help`, and the README's commands)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from cs_mcp import __version__
from cs_mcp.config import Settings, add_options, read_options
from cs_mcp.errors import ConfigError
from cs_mcp.secrets import RedactingFilter
from cs_mcp.spec import ConfirmMode

if TYPE_CHECKING:  # the CLI imports the MCP stack only for the commands that need it, to start fast
    from mcp_types import CallToolResult

    from cs_mcp.guardrails import Preview

COMMANDS = ("serve", "tools", "call", "demo", "sandbox")
# `cs-mcp call` exit statuses beyond 0 (done) and 2 (bad configuration).
TOOL_ERROR, NOT_DONE = 1, 3


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr and exit 2, like any other bad configuration."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"cs-mcp: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cs-mcp", description="An MCP server for the CallScaler call-tracking API.")
    parser.add_argument("--version", action="version", version=f"cs-mcp {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="serve MCP over stdio (default) or Streamable HTTP")
    add_options(serve, "serve")

    tools = commands.add_parser("tools", help="print the tool catalogue such a server would expose")
    add_options(tools, "tools")
    tools.add_argument("name", nargs="?", metavar="TOOL", help="one tool: its arguments and an example call")
    tools.add_argument("--json", action="store_true", help="machine-readable output, with input schemas")

    call = commands.add_parser(
        "call",
        help="call one tool in-process and print its result",
        epilog=f"exit status: 0 done, {TOOL_ERROR} tool error, 2 bad configuration, {NOT_DONE} nothing done "
        "(declined, or needs a confirmation no terminal could give). On a terminal, a tool that needs "
        "confirmation shows its preview and asks you; without one it prints the command that confirms it.",
    )
    add_options(call, "call")
    call.add_argument("tool")
    call.add_argument("arguments", nargs="*", metavar="key=value")
    call.add_argument("--json-args", help="arguments as one JSON object")
    call.add_argument("--json", action="store_true", help="print the structured result as JSON")

    commands.add_parser("demo", help="a scripted tour against the sandbox")

    sandbox = commands.add_parser("sandbox", help="serve the simulated CallScaler REST API over HTTP")
    add_options(sandbox, "sandbox")
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
        return _run(args, argv)
    except ConfigError as exc:
        print(f"cs-mcp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `cs-mcp call ... | head`: the reader left; not an error of ours
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit, so the final flush is quiet
        return 0


def _run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    values = read_options(args.command, args)
    if args.command == "sandbox":
        from cs_mcp.sandbox import run_server

        run_server(
            host=values["host"], port=values["port"], scale=values["sandbox_scale"], faults=values["fault"]
        )
        return 0
    if args.command == "demo":
        from cs_mcp.demo import run_demo

        return run_demo()
    settings = Settings.from_options(values, require_key=args.command != "tools")
    if args.command == "tools" and (args.name or args.json):
        from cs_mcp.tool_help import print_tool_help

        print_tool_help(settings, args.name, as_json=args.json)
        return 0
    if args.command == "tools":
        from cs_mcp.tools_table import print_tools

        print_tools(settings)
        return 0
    if args.command == "call":
        return _call(args, settings, argv)
    return _serve(values, settings)


def _serve(values: Mapping[str, Any], settings: Settings) -> int:
    import gc

    # Start-up makes objects that live as long as the server (modules, models, schemas): collecting
    # while it runs found next to nothing for a tenth of its CPU time, so the collector waits until it
    # ends. Then they are kept out of full collections, which otherwise held the loop 43-86 ms behind
    # big lists (benchmarks/loop_watch.py).
    gc.disable()
    from cs_mcp.server import build_server

    server = build_server(settings)
    gc.freeze()
    gc.enable()
    if values["transport"] == "http":
        from cs_mcp.http import serve_http

        serve_http(server, settings, values["host"], values["port"], values["allowed_host"])
    else:
        from cs_mcp.hints import waiting_line
        from cs_mcp.stdio_transport import run_stdio

        print(waiting_line(settings), file=sys.stderr, flush=True)  # else a terminal looks hung
        run_stdio(server)  # on the event loop, not the SDK's worker threads: pings answered at once
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


class TerminalConsent:
    """Asks the person at the terminal whether a previewed action may happen; remembers the answer.

    This is the human confirmation: the question goes to stderr and the answer comes from stdin, so
    stdout carries only the result. Anything but y or yes (including end of input) is no."""

    def __init__(self) -> None:
        self.answer: bool | None = None

    def __call__(self, preview: Preview) -> bool:
        print(preview.describe(), file=sys.stderr)
        print(question_for(preview), end="", file=sys.stderr, flush=True)
        self.answer = sys.stdin.readline().strip().lower() in {"y", "yes"}
        return self.answer


def question_for(preview: Preview) -> str:
    """ "Buy +18135550100 (Tampa) for 1.15 USD a month? [y/N] ": the action, with its cost if it has one."""
    question = preview.action.rstrip(".")
    if preview.monthly_cost_cents is not None:
        cost = f"{preview.monthly_cost_cents / 100:.2f}"
        question += "" if cost in question else f" for {cost} USD a month"
    return f"{question}? [y/N] "


def _on_terminal() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _call(args: argparse.Namespace, settings: Settings, argv: Sequence[str]) -> int:
    import anyio

    from cs_mcp.inprocess import call_tool, call_with_consent, pending_token

    if settings.confirm_mode == ConfirmMode.URL:
        # The approval page lives as long as a server does; a one-shot command's would end with it.
        raise ConfigError(
            "cs-mcp call confirms at the terminal (or prints the command that does); --confirm url is for "
            "`cs-mcp serve`, whose approval page outlives one call. Leave --confirm out here."
        )
    arguments = parse_call_arguments(args.arguments, args.json_args)
    consent = TerminalConsent() if _on_terminal() else None
    if consent is None:
        result = anyio.run(call_tool, settings, args.tool, arguments)
    else:
        result = call_with_consent(settings, args.tool, arguments, consent)
    token = pending_token(result)
    if token is not None and consent is not None and consent.answer is False:
        print("Declined: nothing was done.", file=sys.stderr)
        return NOT_DONE
    _print_result(result, as_json=args.json)
    if token is None:
        return TOOL_ERROR if result.is_error else 0
    if consent is None:
        _explain_how_to_confirm(argv, token, settings)
    return NOT_DONE


def _print_result(result: CallToolResult, *, as_json: bool) -> None:
    from cs_mcp.inprocess import text_of

    if as_json:
        structured = result.structured_content
        print(json.dumps(structured if structured is not None else {"text": text_of(result)}, indent=2))
    else:
        print(text_of(result))


def _explain_how_to_confirm(argv: Sequence[str], token: str, settings: Settings) -> None:
    """No terminal to ask on: the command that confirms the action, for once the user has agreed. The
    token is in the state store, so that later process can redeem it, unless the store is this
    process's memory."""
    from cs_mcp.guardrails import TOKEN_TTL_SECONDS
    from cs_mcp.state import MEMORY

    command = shlex.join(["cs-mcp", *argv, f"confirmation_token={token}"])
    if settings.state == MEMORY:
        print(
            f"cs-mcp: nothing was done. The token lived in this process's memory (--state {MEMORY}), which has "
            "ended, so no later command can redeem it. Run the command on a terminal, where cs-mcp asks you "
            "directly, or leave --state at its default (a file in your data folder).",
            file=sys.stderr,
        )
        return
    print(
        "cs-mcp: nothing was done. Show the preview to the user; only if they agree, confirm it within "
        f"{TOKEN_TTL_SECONDS // 60} minutes (once, with the same arguments) with:\n  {command}",
        file=sys.stderr,
    )
