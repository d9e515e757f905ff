"""Run the emulator standalone: ``python -m emulator --port 8081 --token 123:ABC``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .server import BotApiEmulator


async def _serve(args: argparse.Namespace) -> None:
    emu = BotApiEmulator(token=args.token, bot_username=args.bot_username)
    for i, name in enumerate(args.users or []):
        emu.add_user(1001 + i, name, started=True)
    url = await emu.start(args.host, args.port)
    print(
        f"Bot API emulator listening on {url}  (base_url={url}/bot, base_file_url={url}/file/bot)", flush=True
    )
    try:
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--bot-username", default="tiengdan_test_bot")
    parser.add_argument("--users", nargs="*", help="first names of users to pre-register (ids from 1001)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
