"""Entry point: python3 -m matrix_intake. Wires config, logging and the bot; stops cleanly on SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from .bot import EncryptedRoom, IntakeBot
from .config import ConfigError, load_config

EXIT_ENCRYPTED_ROOM = 3  # deploy/intake-bot.service: RestartPreventExitStatus=3 (restarting cannot help)


def run(argv=None) -> int:
    logging.basicConfig(level=os.environ.get("INTAKE_LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # nio logs whole request bodies at DEBUG; keep library chatter (and any email text) out of the logs.
    for noisy in ("nio", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = load_config()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    return asyncio.run(_main(config))


async def _main(config) -> int:
    bot = IntakeBot(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, bot.stopping.set)
    try:
        await bot.run()
    except EncryptedRoom as error:
        logging.getLogger("matrix_intake").error("refusing to run: %s", error)  # the one line
        return EXIT_ENCRYPTED_ROOM
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
