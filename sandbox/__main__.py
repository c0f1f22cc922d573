"""``python -m sandbox --data-dir DIR --env-file FILE [--seed N] [portal options]``.

Starts the portal, mail and Tarifer stand-ins, writes the settings that point
a production-configured robot at them to FILE once everything answers, and
runs until SIGINT or SIGTERM, then stops everything it started.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from sandbox.portal import DEFAULT_DETAILS_HISTORY_DAYS, DEFAULT_ZIP_ABOVE_BYTES, FAULTS
from sandbox.stack import Sandbox, SandboxOptions, write_env_file


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        """Return the number, or tell argparse why it is refused."""
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="folder for all stand-in data")
    parser.add_argument("--env-file", required=True, type=Path, help="where to write the KEY=VALUE settings")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data set (default 1)")
    parser.add_argument(
        "--delivery-delay",
        type=float,
        default=1.0,
        help="seconds between an order and its e-mail (default 1)",
    )
    parser.add_argument(
        "--details-history-days",
        type=whole_number(1),
        default=DEFAULT_DETAILS_HISTORY_DAYS,
        help=f"how many days back call details can be ordered (default {DEFAULT_DETAILS_HISTORY_DAYS})",
    )
    parser.add_argument(
        "--zip-above",
        type=whole_number(0),
        default=DEFAULT_ZIP_ABOVE_BYTES,
        metavar="BYTES",
        help=f"send call details larger than this zipped (default {DEFAULT_ZIP_ABOVE_BYTES})",
    )
    parser.add_argument(
        "--document-size",
        type=whole_number(0),
        default=None,
        metavar="EVENTS",
        help="make call details of this many events per number, so that large files travel the whole way "
        "(default: each number's usual count, a few dozen to several hundred a month)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=sorted(FAULTS),
        help="switch a portal fault on from the start (repeatable): wrong-document attaches "
        "another account's document of an earlier month; silent-orders takes an order but "
        "never answers «Заказать»; reversed-mail holds the e-mails back until no order has "
        "come for the delivery delay, then sends them newest order first; duplicate-mail "
        "sends every e-mail twice (same content and Message-ID)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until a stop signal arrives."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    options = SandboxOptions(
        data_dir=args.data_dir,
        seed=args.seed,
        delivery_delay=args.delivery_delay,
        details_history_days=args.details_history_days,
        zip_above_bytes=args.zip_above,
        document_size=args.document_size,
        faults=tuple(args.fault),
    )
    with Sandbox(options) as sandbox:
        write_env_file(args.env_file, sandbox.settings())
        print(f"sandbox ready: settings in {args.env_file}", flush=True)
        stop.wait()
        print("sandbox stopping", flush=True)
    args.env_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
