"""Run the embedded AWS emulator in the foreground until Ctrl-C.

python -m local_stack.emulator [--host 127.0.0.1] [--port 4566] [--no-local-mode]
                                                                    # or: make emulator
"""

from __future__ import annotations

import argparse
import logging
import threading

from local_stack.emulator.server import DEFAULT_HOST, DEFAULT_PORT, EmulatorError, start_moto

logger = logging.getLogger("local_stack.emulator")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack.emulator",
        description="Run the embedded AWS emulator in the foreground.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to bind")
    parser.add_argument(
        "--no-local-mode",
        dest="local_mode",
        action="store_false",
        help="record SageMaker jobs without running them (local mode runs them for real)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        emulator = start_moto(args.host, args.port, local_mode=args.local_mode)
    except EmulatorError as error:
        parser.exit(2, f"error: {error}\n")
    for name, value in emulator.environment().items():
        logger.info("export %s=%s", name, value)
    logger.info(
        "local mode %s: SageMaker training jobs %s",
        "on" if args.local_mode else "off",
        "run for real on this machine" if args.local_mode else "are recorded, not run",
    )
    logger.info("Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
