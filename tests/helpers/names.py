"""Host names a test resolves itself, so that no test asks the machine's resolver (DNS).

Tests reach loopback only, and a DNS query is traffic too. A test that names a
registry by a made-up host (``registry.spyglass.test``, known to its test proxy
only) still has Spyglass try that host directly now and then (an https:// attempt
with only ``HTTP_PROXY`` set); :func:`resolve_only` answers those lookups from a
mapping and says "name not known" for every other name, without a query.
Addresses and ``localhost`` are looked up as usual (no DNS: the system's hosts file).

Run the command line in a subprocess with the same rule::

    python -m tests.helpers.names ARGS...      # spyglass ARGS..., offline names

with ``SPYGLASS_TEST_NAMES`` holding ``name=address`` pairs, comma-separated
(empty: no name resolves).
"""

from __future__ import annotations

import ipaddress
import os
import runpy
import socket
import sys
from collections.abc import Callable, Mapping
from typing import Any

VARIABLE = "SPYGLASS_TEST_NAMES"

_system_getaddrinfo = socket.getaddrinfo


def is_literal(host: str) -> bool:
    """Whether ``host`` is an address (or ``localhost``): looked up without DNS."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return False
    return True


def resolver(names: Mapping[str, str]) -> Callable[..., Any]:
    """A ``socket.getaddrinfo`` that answers ``names`` (host → address) and addresses,
    and raises "name not known" for any other host, asking no DNS server."""
    known = {name.lower(): address for name, address in names.items()}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        text = host.decode() if isinstance(host, bytes) else host
        if text is None or is_literal(text):
            return _system_getaddrinfo(host, port, *args, **kwargs)
        address = known.get(text.lower().rstrip("."))
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return _system_getaddrinfo(address, port, *args, **kwargs)

    return getaddrinfo


def resolve_only(names: Mapping[str, str]) -> None:
    """Make this process resolve host names by ``names`` only (see the module docstring)."""
    socket.getaddrinfo = resolver(names)


def environment(names: Mapping[str, str]) -> dict[str, str]:
    """The environment entry that gives a ``python -m tests.helpers.names`` run ``names``."""
    return {VARIABLE: ",".join(f"{name}={address}" for name, address in names.items())}


def _from_environment() -> dict[str, str]:
    pairs = (entry.partition("=") for entry in os.environ.get(VARIABLE, "").split(","))
    return {name: address for name, _, address in pairs if name}


if __name__ == "__main__":
    resolve_only(_from_environment())
    sys.argv[0] = "spyglass"
    runpy.run_module("spyglass", run_name="__main__", alter_sys=True)
