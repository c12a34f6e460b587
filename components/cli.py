"""Shared entry-point behaviour: one-line errors and non-zero exits."""

import sys
from collections.abc import Callable

from components.errors import StepError


def run_cli(main: Callable[[], object]) -> None:
    """Run ``main``; turn a :class:`StepError` into ``error: <message>`` and exit code 2."""
    try:
        main()
    except StepError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
