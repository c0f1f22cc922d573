"""``python -m sandbox --data-dir DIR --env-file FILE [--seed N] [data set size] [portal options]``.

Starts the portal, mail and Tarifer stand-ins, writes the settings that point
a production-configured robot at them to FILE once everything answers, and
runs until SIGINT or SIGTERM, then stops everything it started.

``--logins K --accounts N --numbers M`` make a data set of K logins, N
personal accounts per login and M numbers per account (each left out keeps
the default data set's shape). With ``--logins K`` (K > 1) the logins file
(``sandbox.env`` → ``sandbox.logins.toml``, see ``sandbox.stack``) is
written beside FILE, and the robot does every login; both are removed on exit.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from sandbox.portal import DEFAULT_DETAILS_HISTORY_DAYS, DEFAULT_ZIP_ABOVE_BYTES, FAULTS, TREE_PAGE_SIZE
from sandbox.stack import Sandbox, SandboxOptions, logins_file_for


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
        "--logins",
        type=whole_number(1),
        default=None,
        metavar="K",
        help="Virtual Manager logins in the data set (default 2)",
    )
    parser.add_argument(
        "--accounts",
        type=whole_number(1),
        default=None,
        metavar="N",
        help="personal accounts per login (default: 3 each, 2 for the second login)",
    )
    parser.add_argument(
        "--numbers",
        type=whole_number(1),
        default=None,
        metavar="M",
        help="subscriber numbers per personal account (default: 3 to 6, drawn per account)",
    )
    # For tests: the nodes a page of the account tree shows (the real portal's 300).
    parser.add_argument("--page-size", type=whole_number(1), default=TREE_PAGE_SIZE, help=argparse.SUPPRESS)
    # For tests of the robot's plan mode: a label the portal leaves out of every page, e.g. "Текущая выборка".
    parser.add_argument("--without-label", default=None, metavar="TEXT", help=argparse.SUPPRESS)
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
        logins=args.logins,
        accounts=args.accounts,
        numbers=args.numbers,
        page_size=args.page_size,
        without_label=args.without_label,
    )
    written: tuple[Path, ...] = ()
    try:
        with Sandbox(options) as sandbox:
            written = sandbox.write_settings(args.env_file)
            print(f"sandbox ready: settings in {args.env_file}", flush=True)
            stop.wait()
            print("sandbox stopping", flush=True)
    finally:
        for path in (*written, args.env_file, logins_file_for(args.env_file)):
            path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
