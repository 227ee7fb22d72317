"""The web process: daphne, after checking that a DEBUG process is not about to listen on a network.

`python -m bartsvoice.web [daphne arguments]`, e.g. `-b 0.0.0.0 -p 8000 bartsvoice.asgi:application`
(the Procfile's `web`, and `make run`).
"""

from __future__ import annotations

import os
import re
import sys

from daphne.cli import CommandLineInterface

DAPHNE_DEFAULT_HOST = "127.0.0.1"


def listening_hosts(argv: list[str]) -> list[str]:
    """The interfaces daphne would listen on for these arguments (an inherited --fd or a unix socket: none)."""
    args = CommandLineInterface().parser.parse_args(argv)
    hosts = []
    for endpoint in args.socket_strings or []:
        if endpoint.startswith(("tcp:", "ssl:")):
            interface = re.search(r"(?:^|:)interface=([^:]+)", endpoint.replace("\\:", "%3A"))
            hosts.append(interface.group(1).replace("%3A", ":") if interface else "0.0.0.0")  # noqa: S104
    if (
        args.port is not None
        or args.host is not None
        or not (args.socket_strings or args.unix_socket or args.file_descriptor is not None)
    ):
        hosts.append(args.host or DAPHNE_DEFAULT_HOST)
    return hosts


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")
    from django.conf import settings

    from bartsvoice.bind_guard import bind_refusal

    refusal = bind_refusal(listening_hosts(argv), debug=settings.DEBUG, allowed=settings.ALLOW_DEBUG_ON_NETWORK)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    CommandLineInterface().run(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
