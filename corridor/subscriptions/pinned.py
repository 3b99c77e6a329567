"""Webhook connections pinned to the addresses the SSRF guard checked (DNS rebinding).

Checking a destination's name and then letting the HTTP client resolve it again leaves a
window: a DNS answer that changes in between (rebinding, or a name with public and private
records served in turn) makes the client connect to an address that was never checked.

So the check is made where the connection is made: `GuardedBackend` is the httpcore network
backend of the delivery client. Asked for a TCP connection to (host, port), it resolves the
host ONCE, refuses unless every address is allowed (model.check_addresses; skipped with
CORRIDOR_ALLOW_PRIVATE_WEBHOOKS=1), and opens the socket to those very IP addresses; there is
no second lookup. Everything above the socket still sees the original URL, so the Host header
and, for https, the TLS server name (SNI) and the certificate's hostname check use the
subscriber's name, not the IP. Pooled keep-alive connections were checked when opened.

Chosen over rewriting the URL to the IP (with a Host header and the `sni_hostname`
extension) because that keys httpcore's connection pool by IP: a TLS connection verified for
one name could then be reused for another name on the same IP.

The client never follows redirects (a 3xx is a failed delivery, so a redirect to a private
address goes nowhere) and ignores proxy settings from the environment (a proxy would resolve
the name itself, out of the guard's reach).
"""

from __future__ import annotations

import asyncio
import ssl
import typing

import httpcore
import httpx

from corridor.subscriptions.model import (
    Resolver,
    check_addresses,
    resolve_host,
    system_resolver,
)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every address, connects to the checked addresses (asyncio)."""

    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses a connection to (host, port) may use; blocks on DNS."""
        addresses = resolve_host(host, port, resolver=self.resolver)
        if not self.allow_private:
            check_addresses(host, addresses)
        return addresses

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[typing.Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            addresses = await asyncio.wait_for(
                loop.run_in_executor(None, self.addresses, host, port), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from None
        last: Exception | None = None
        for address in addresses:  # IP literals: the inner backend does no DNS lookup
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[typing.Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are delivered over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over `GuardedBackend`. httpx has no public parameter for the network
    backend, so the connection pool it builds is replaced by the same pool over ours."""

    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver,
                 verify: ssl.SSLContext | bool = True,
                 limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self.backend = GuardedBackend(allow_private=allow_private, resolver=resolver)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=self.backend,
        )


def guarded_client(*, allow_private: bool, timeout: float,
                   resolver: Resolver = system_resolver,
                   verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """The webhook delivery client: pinned connections, no redirects, no proxies from the
    environment. A refused destination raises model.SubscriptionError (pointer /dest)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_private=allow_private, resolver=resolver,
                                   verify=verify),
        timeout=timeout, follow_redirects=False, trust_env=False)
