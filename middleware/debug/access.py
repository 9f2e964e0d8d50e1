"""Who may see a debug page: the client address rule and the Host rule.

The client address is ``REMOTE_ADDR``. ``X-Forwarded-For`` is ignored unless the direct peer is
one of ``trusted_proxies``; then the right-most address that is not itself a trusted proxy is
the client (the left-most entries are whatever the client chose to send, so they prove
nothing). Allowed addresses and proxies are IP addresses or CIDR networks
(``"127.0.0.1"``, ``"::1"``, ``"10.0.0.0/8"``).

The Host rule defends against DNS rebinding (CVE-2024-34069): a page on an attacker's domain
that resolves to 127.0.0.1 would otherwise be same-origin with the debugger. IP-literal hosts
cannot be rebound and are always accepted; names must be in ``trusted_hosts`` (an entry
starting with a dot also accepts its subdomains).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from middleware.options import Network, check_networks, check_strings

DEFAULT_TRUSTED_HOSTS = ("localhost", ".localhost")


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[::1]:8080"
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # "1.2.3.4:5678"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # "::ffff:127.0.0.1" from dual-stack sockets
    return mapped or address


def _in(address: Any, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(environ: Mapping[str, Any], trusted_proxies: tuple[Network, ...]
                   ) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client's address as an ``ipaddress`` object, or ``None`` when it is not an IP."""
    peer = _address(environ.get("REMOTE_ADDR") or "")
    if peer is None or not trusted_proxies or not _in(peer, trusted_proxies):
        return peer
    hops = [h for h in (environ.get("HTTP_X_FORWARDED_FOR") or "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return None  # a garbled chain: trust nothing in it
        if not _in(address, trusted_proxies):
            return address
    return peer


def host_is_trusted(environ: Mapping[str, Any], trusted_hosts: tuple[str, ...]) -> bool:
    """Whether the request's Host is an IP literal or matches ``trusted_hosts``."""
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or ""
    host = host.strip().lower()
    if host.startswith("["):
        return _address(host) is not None
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if _address(name) is not None:
        return True
    name = name.rstrip(".")
    for trusted in trusted_hosts:
        if trusted.startswith("."):
            if name == trusted[1:] or name.endswith(trusted):
                return True
        elif name == trusted:
            return True
    return False


class AccessRule:
    """The allow-list check, parsed once at construction.

    :param allowed_ips: addresses or CIDR ranges that may see debug pages.
    :param trusted_proxies: peers whose ``X-Forwarded-For`` is believed.
    :param trusted_hosts: Host names accepted (IP literals always are).
    """

    def __init__(self, allowed_ips: Iterable[str], trusted_proxies: Iterable[str],
                 trusted_hosts: Iterable[str]) -> None:
        self.allowed = check_networks("allowed_ips", allowed_ips)
        self.proxies = check_networks("trusted_proxies", trusted_proxies)
        self.hosts = tuple(h.strip().lower() for h in check_strings("trusted_hosts", trusted_hosts)
                           if h.strip())

    def client_allowed(self, environ: Mapping[str, Any]) -> bool:
        """Whether the client address is in ``allowed_ips``."""
        address = client_address(environ, self.proxies)
        return address is not None and _in(address, self.allowed)

    def host_allowed(self, environ: Mapping[str, Any]) -> bool:
        """Whether the Host header passes the DNS-rebinding check."""
        return host_is_trusted(environ, self.hosts)
