"""The registries a sync found unreachable, and which listings and copies they fail."""

from __future__ import annotations

from spyglass.core.errors import Unreachable
from spyglass.core.sync_unreachable import UnreachableHosts


def unreachable(host: str) -> Unreachable:
    error = Unreachable(f"Cannot reach the registry {host}: connection refused.")
    error.host = host
    return error


def test_a_route_fails_at_once_only_where_none_of_its_hosts_can_be_reached() -> None:
    """A copy read through registries.conf (a mirror, then the location) was failed
    because the name's own host, which it never contacts, could not be listed."""
    hosts = UnreachableHosts()
    hosts.add(unreachable("down.example"))
    assert hosts.failure_for([("mirror.example", "down.example")]) is None
    assert hosts.failure_for([("mirror.example",), ("dest.example",)]) is None
    hosts.add(unreachable("mirror.example"))
    failed = hosts.failure_for([("mirror.example", "down.example"), ("dest.example",)])
    assert failed is not None and failed.host == "down.example"  # (the route's last)
    assert failed.message == ("Cannot reach the registry down.example: connection refused; "
                              "this image was not tried, as an earlier one could not reach it.")
    listing = hosts.failure_for([("down.example",)], what="repository")
    assert listing is not None and listing.message.endswith(
        "this repository was not tried, as an earlier one could not reach it.")
    destination = hosts.failure_for([("up.example",), ("mirror.example",)])
    assert destination is not None and destination.host == "mirror.example"
