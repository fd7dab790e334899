"""The wire to the team server: one JSON POST with the standard library (``urllib``),
every failure translated into a :class:`~wattprint.errors.PushError` with a reason, and
retries with exponential backoff and full jitter for the failures that may pass
(no connection, HTTP 5xx, HTTP 429), within a deadline.

No third-party HTTP client: the push runs in the tracked program's process and
``import wattprint`` must stay light.
"""

from __future__ import annotations

import json
import random
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import PushError

__all__ = ["RUNS_PATH", "RetryPolicy", "post_json", "post_with_retries", "backoff_s"]

#: Where runs are posted, under the server URL.
RUNS_PATH = "/api/v1/runs"
#: Most characters of the server's error text kept in a message.
_DETAIL = 200
_UNREACHABLE = ("server unreachable at {server}: the runs stay in the outbox; run "
                "`wattprint push` later")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` per request at most, waits growing from
    ``base_s`` by ``factor`` up to ``cap_s`` (each drawn uniformly below that bound: full
    jitter, so many clients do not retry in step), ``timeout_s`` per request, and no new
    attempt past ``deadline_s`` from the first (``None``: no deadline)."""

    attempts: int = 5
    base_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 30.0
    timeout_s: float = 30.0
    deadline_s: float | None = None


def backoff_s(policy: RetryPolicy, attempt: int, rng: Callable[[], float] = random.random,
              retry_after_s: float | None = None) -> float:
    """The wait before retry number ``attempt`` (1 for the first retry): uniform in
    ``[0, min(cap, base * factor**(attempt-1))]``, or what the server asked for
    (``Retry-After``) when that is longer, capped."""
    bound = min(policy.cap_s, policy.base_s * policy.factor ** max(attempt - 1, 0))
    wait = rng() * bound
    if retry_after_s is not None:
        wait = max(wait, min(float(retry_after_s), policy.cap_s))
    return wait


def _detail(body: bytes) -> str:
    """The server's error text: its JSON ``detail`` when there is one, else the text."""
    text = body.decode("utf-8", "replace")
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict) and "detail" in obj:
        detail = obj["detail"]
        if isinstance(detail, list):  # FastAPI's validation errors
            detail = "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d)
                               for d in detail[:3])
        text = str(detail)
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL else text[:_DETAIL - 1] + "…"


def _retry_after(headers: Any) -> float | None:
    try:
        value = float(headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None
    return value if 0 <= value < 3600 else None


def http_error(server: str, status: int, body: bytes, headers: Any = None) -> PushError:
    """The :class:`PushError` for an HTTP error status."""
    detail = _detail(body)
    said = f": {detail}" if detail else ""
    if status == 401:
        return PushError("token refused: check WATTPRINT_TOKEN", server=server,
                         reason="token", status=status,
                         fix="set WATTPRINT_TOKEN (or --token) to a token of this server")
    if status == 403:
        return PushError(f"the token may not push runs to {server} (HTTP 403{said}): use "
                         "a project token that is not read-only", server=server,
                         reason="forbidden", status=status,
                         fix="create one with `wattprint server token create --project P`")
    if status == 404:
        return PushError(f"no wattprint run API at {server}{RUNS_PATH} (HTTP 404{said}): "
                         "check WATTPRINT_SERVER", server=server, reason="not_found",
                         status=status, fix="set WATTPRINT_SERVER to the server's base URL")
    if 300 <= status < 400:
        where = (headers.get("Location") if headers is not None else None) or "elsewhere"
        return PushError(f"{server} redirects (HTTP {status} to {where}): set "
                         "WATTPRINT_SERVER to the server's own URL", server=server,
                         reason="not_found", status=status,
                         fix="use the URL the redirect points to (https:// if it is that)")
    if status == 413:
        return PushError(f"the server refused a chunk as too large (HTTP 413{said})",
                         server=server, reason="too_large", status=status)
    if status in (400, 409, 422):
        return PushError(f"the server refused the run (HTTP {status}{said})", server=server,
                         reason="rejected", status=status)
    if status == 429 or status >= 500:
        return PushError(f"the server at {server} failed (HTTP {status}{said}): the runs "
                         "stay in the outbox; run `wattprint push` later", server=server,
                         reason="server", status=status, retry_after_s=_retry_after(headers))
    return PushError(f"unexpected answer from {server} (HTTP {status}{said})", server=server,
                     reason="server" if status >= 300 else "rejected", status=status)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: urllib would send the token on to wherever the
    ``Location`` points (another host) and turn the POST into a GET. The 3xx becomes an
    error that names the URL to configure instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER: urllib.request.OpenerDirector | None = None


def _opener() -> urllib.request.OpenerDirector:
    global _OPENER
    if _OPENER is None:
        _OPENER = urllib.request.build_opener(_NoRedirect)
    return _OPENER


def post_json(server: str, token: str, body: bytes, *, timeout_s: float,
              path: str = RUNS_PATH) -> tuple[int, dict[str, Any]]:
    """POST ``body`` (JSON bytes) to ``server + path``; the status and the decoded JSON
    answer. Raises :class:`PushError`."""
    from .. import __version__

    request = urllib.request.Request(
        server + path, data=body, method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 "Authorization": f"Bearer {token}",
                 "User-Agent": f"wattprint/{__version__} (push)"})
    try:
        with _opener().open(request, timeout=timeout_s) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        with err:
            raw = err.read() if err.fp is not None else b""
        raise http_error(server, err.code, raw, err.headers) from None
    except (socket.timeout, TimeoutError) as err:
        raise PushError(f"no answer from {server} within {timeout_s:g} s: the runs stay in "
                        "the outbox; run `wattprint push` later", server=server,
                        reason="unreachable", fix="check the server's load and logs") from err
    except (urllib.error.URLError, OSError) as err:
        cause = getattr(err, "reason", err)
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise PushError(f"the TLS certificate of {server} is not trusted here "
                            f"({cause.verify_message or cause}): set SSL_CERT_FILE to the CA "
                            "bundle that signed it", server=server, reason="tls",
                            fix="SSL_CERT_FILE=/path/to/ca.pem") from err
        if isinstance(getattr(err, "reason", None), (socket.timeout, TimeoutError)):
            raise PushError(f"no answer from {server} within {timeout_s:g} s: the runs stay "
                            "in the outbox; run `wattprint push` later", server=server,
                            reason="unreachable", fix="check the server's load and logs"
                            ) from err
        reason = getattr(err, "reason", err)
        raise PushError(_UNREACHABLE.format(server=server), server=server,
                        reason="unreachable",
                        fix=f"start the server or check the URL ({reason})") from err
    except Exception as err:  # noqa: BLE001 - http.client.RemoteDisconnected and friends
        raise PushError(_UNREACHABLE.format(server=server), server=server,
                        reason="unreachable", fix=f"the connection broke ({err!r})") from err
    try:
        answer = json.loads(raw.decode("utf-8")) if raw else {}
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise PushError(f"{server}{path} answered HTTP {status} with something that is "
                        "not the wattprint API (check WATTPRINT_SERVER)", server=server,
                        reason="not_found", status=status)
    return status, answer


def post_with_retries(server: str, token: str, body: bytes, policy: RetryPolicy, *,
                      started: float | None = None, sleep: Callable[[float], None] = time.sleep,
                      post: Callable[..., tuple[int, dict[str, Any]]] = post_json,
                      ) -> tuple[int, dict[str, Any]]:
    """:func:`post_json`, retried on the failures that may pass. ``started``: the
    monotonic time the deadline counts from (default: now). Raises the last
    :class:`PushError`."""
    started = time.monotonic() if started is None else started
    attempt = 0
    while True:
        attempt += 1
        timeout_s = policy.timeout_s
        if policy.deadline_s is not None:
            left = policy.deadline_s - (time.monotonic() - started)
            timeout_s = max(min(timeout_s, left), 0.5)
        try:
            return post(server, token, body, timeout_s=timeout_s)
        except PushError as err:
            if not err.retryable or attempt >= policy.attempts:
                raise
            wait = backoff_s(policy, attempt, retry_after_s=err.retry_after_s)
            if policy.deadline_s is not None and (
                    time.monotonic() - started + wait >= policy.deadline_s):
                raise
            sleep(wait)
