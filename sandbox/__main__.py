"""``python -m sandbox --data-dir DIR --env-file FILE [--seed N]``.

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
from pathlib import Path

from sandbox.stack import Sandbox, SandboxOptions, write_env_file


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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until a stop signal arrives."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    options = SandboxOptions(data_dir=args.data_dir, seed=args.seed, delivery_delay=args.delivery_delay)
    with Sandbox(options) as sandbox:
        write_env_file(args.env_file, sandbox.settings())
        print(f"sandbox ready: settings in {args.env_file}", flush=True)
        stop.wait()
        print("sandbox stopping", flush=True)
    args.env_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
