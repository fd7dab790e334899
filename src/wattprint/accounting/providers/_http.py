"""The HTTP layer of the live providers: one small transport interface, a urllib default,
a replay transport for recorded responses, and the translation of failures into
:class:`ProviderError` (chained to the original)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ...errors import WattprintError

__all__ = ["ProviderError", "Response", "Transport", "urllib_transport", "RecordedTransport",
           "get_json", "PROVIDER_REASONS"]

#: Why a live provider gave no figure.
PROVIDER_REASONS = ("timeout", "network", "auth", "unsupported_zone", "http", "bad_response",
                    "no_key")


class ProviderError(WattprintError):
    """A live intensity provider failed; ``provider``, ``reason`` (one of
    :data:`PROVIDER_REASONS`) and ``status`` (HTTP status, when there was one)."""

    def __init__(self, message: str, *, provider: str, reason: str,
                 status: int | None = None) -> None:
        if reason not in PROVIDER_REASONS:
            raise ValueError(f"unknown provider error reason {reason!r}")
        super().__init__(message)
        self.provider, self.reason, self.status = provider, reason, status


@dataclass(frozen=True)
class Response:
    status: int
    body: str


#: transport(method, url, headers, timeout_s) -> Response; raises OSError on network failure.
Transport = Callable[[str, str, Mapping[str, str], float], Response]


def urllib_transport(method: str, url: str, headers: Mapping[str, str], timeout_s: float
                     ) -> Response:
    request = urllib.request.Request(url, headers=dict(headers), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return Response(response.status, response.read(2_000_000).decode("utf-8", "replace"))
    except urllib.error.HTTPError as err:  # an answer, just not a 2xx one
        return Response(err.code, err.read(100_000).decode("utf-8", "replace"))


@dataclass
class RecordedTransport:
    """Replays recorded responses: ``{url prefix: (status, body text)}``; the longest
    matching prefix wins. Unknown URLs raise ``OSError`` (like an unreachable host);
    ``calls`` records what was asked. For tests, and for users testing their setup."""

    responses: Mapping[str, tuple[int, str]]
    calls: list[tuple[str, str, dict[str, str], float]] = field(default_factory=list)
    raise_timeout: bool = False

    def __call__(self, method: str, url: str, headers: Mapping[str, str], timeout_s: float
                 ) -> Response:
        self.calls.append((method, url, dict(headers), timeout_s))
        if self.raise_timeout:
            raise socket.timeout("timed out")
        matches = [p for p in self.responses if url.startswith(p)]
        if not matches:
            raise OSError(f"no recorded response for {url}")
        status, body = self.responses[max(matches, key=len)]
        return Response(status, body)


def get_json(transport: Transport, provider: str, url: str, headers: Mapping[str, str],
             timeout_s: float, method: str = "GET") -> Any:
    """GET (or other) ``url`` and parse JSON, translating every failure to ProviderError."""
    try:
        response = transport(method, url, headers, timeout_s)
    except (socket.timeout, TimeoutError) as err:
        raise ProviderError(f"{provider}: no answer within {timeout_s:g} s", provider=provider,
                            reason="timeout") from err
    except OSError as err:
        raise ProviderError(f"{provider}: network error: {err}", provider=provider,
                            reason="network") from err
    if response.status in (401, 403):
        raise ProviderError(f"{provider}: the API refused the credentials (HTTP "
                            f"{response.status})", provider=provider, reason="auth",
                            status=response.status)
    if response.status == 404:
        raise ProviderError(f"{provider}: not found (HTTP 404)", provider=provider,
                            reason="unsupported_zone", status=404)
    if not 200 <= response.status < 300:
        raise ProviderError(f"{provider}: HTTP {response.status}", provider=provider,
                            reason="http", status=response.status)
    try:
        return json.loads(response.body)
    except ValueError as err:
        raise ProviderError(f"{provider}: the answer is not JSON", provider=provider,
                            reason="bad_response", status=response.status) from err
