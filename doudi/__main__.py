"""``doudi`` and ``python -m doudi``: every command module registered on the one group, then run."""

from __future__ import annotations

import os
import sys

import click

from . import admin, cli, serve  # noqa: F401 - each registers its commands on common.cli
from .common import cli as group


def main() -> None:
    """Entry point of the ``doudi`` console script."""
    try:
        group(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line; DOUDI_DEBUG=1 shows the traceback
        if os.environ.get("DOUDI_DEBUG"):
            raise
        click.echo(f"doudi: internal error ({type(exc).__name__}: {exc}); run again with DOUDI_DEBUG=1 "
                   "for details and report it", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
