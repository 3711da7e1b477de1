"""The confirmation guardrail from a program's side: buy a number only after a human says yes.

Run: python examples/confirm_purchase.py                 (asks on the terminal)
     python examples/confirm_purchase.py --yes           (a scripted "yes", for tests)

A client without form elicitation gets a preview and a single-use `confirmation_token` from the
first call, which changes nothing. The program shows the preview to a person and only then repeats
the call, with the same arguments and the token. The token cannot be reused, expires in 5 minutes
and does not confirm other arguments; the server enforces all of it.
"""

from __future__ import annotations

import argparse

import anyio

from cs_mcp.config import ConfirmMode, Settings
from cs_mcp.inprocess import connect


async def buy(area_code: str, assume_yes: bool) -> int:
    settings = Settings.for_sandbox("manager", confirm_mode=ConfirmMode.TOKEN)
    async with connect(settings) as client:
        offers = await client.call_tool("search_available_numbers", {"area_code": area_code, "limit": 1})
        phone = offers.structured_content["numbers"][0]["phone_number"]
        arguments = {"phone_number": phone, "name": f"Campaign {area_code}"}

        first = await client.call_tool("purchase_number", arguments)
        preview = first.structured_content
        assert preview["status"] == "needs_confirmation", preview
        print("Preview:", preview["preview"]["action"])
        answer = "y" if assume_yes else input("Buy it? [y/N] ").strip().lower()
        if answer != "y":
            print("Not bought: nothing was done.")
            return 1

        second = await client.call_tool(
            "purchase_number", {**arguments, "confirmation_token": preview["confirmation_token"]}
        )
        print(second.structured_content["message"])
        replay = await client.call_tool(
            "purchase_number", {**arguments, "confirmation_token": preview["confirmation_token"]}
        )
        print("Replaying the token is refused:", replay.is_error)
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area-code", default="813")
    parser.add_argument("--yes", action="store_true", help="answer yes without asking")
    args = parser.parse_args()
    raise SystemExit(anyio.run(buy, args.area_code, args.yes))


if __name__ == "__main__":
    main()
