"""The address phones at the venue use to reach this machine: the origin of the join link and its QR code."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

# Any address outside the machine works: a UDP connect only picks the outgoing interface, it sends nothing.
_PROBE_ADDRESS = ("192.0.2.1", 9)
_EVERY_INTERFACE = {"0.0.0.0", "::", ""}
# Where venue Wi-Fi and office networks hand out addresses (RFC 1918).
_LOCAL_NETWORKS = [ipaddress.ip_network(network) for network in ("192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12")]


@dataclass(frozen=True)
class JoinOrigin:
    """Where the join link points, and whether phones on the venue network can open it."""

    origin: str
    reachable_from_phones: bool


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def venue_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses, private ranges (192.168/10/172.16-31) first.

    The interface of the default route is asked first; the host name is looked up only when that
    gives no private address, as the lookup can wait seconds for a name server at an offline venue."""
    found: list[str] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE_ADDRESS)
            found.append(probe.getsockname()[0])
    except OSError:  # no route at all: an offline laptop
        pass
    if not any(_on_local_network(address) for address in found):
        try:
            found += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
        except OSError:
            pass
    usable = [
        address
        for address in dict.fromkeys(found)
        if not ipaddress.ip_address(address).is_loopback and not ipaddress.ip_address(address).is_unspecified
    ]
    return sorted(usable, key=lambda address: not _on_local_network(address))


def _on_local_network(address: str) -> bool:
    return any(ipaddress.ip_address(address) in network for network in _LOCAL_NETWORKS)


def join_origin(
    public_origin: str | None, join_host: str | None, listen_host: str, port: int, request_origin: str
) -> JoinOrigin:
    """PUBLIC_ORIGIN if set; else the named or found venue address when the server listens beyond
    loopback; else the address the moderator opened, which phones cannot reach."""
    if public_origin:
        return JoinOrigin(public_origin.rstrip("/"), True)
    if join_host:
        return JoinOrigin(f"http://{join_host}:{port}", True)
    if not is_loopback(listen_host):
        if listen_host not in _EVERY_INTERFACE:
            return JoinOrigin(f"http://{listen_host}:{port}", True)
        addresses = venue_addresses()
        if addresses:
            return JoinOrigin(f"http://{addresses[0]}:{port}", True)
    return JoinOrigin(request_origin.rstrip("/"), not is_loopback(_host_of(request_origin)))


def _host_of(origin: str) -> str:
    netloc = origin.split("://", 1)[-1].split("/", 1)[0]
    return netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
