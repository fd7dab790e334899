"""Where runs are pushed: the server URL and the token, checked once where they enter
(``server`` / ``token`` settings, ``WATTPRINT_SERVER`` / ``WATTPRINT_TOKEN``, the
``--server`` / ``--token`` flags), and the token's masked form — the only form ever
printed or logged. Tokens are never written to the ledger."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Target", "server_url", "api_token", "mask_token", "target_from",
           "SERVER_RULE", "TOKEN_RULE"]

SERVER_RULE = "an http:// or https:// URL: http(s)://host[:port][/path], e.g. " \
              "https://wattprint.example.org or http://127.0.0.1:8000"
TOKEN_RULE = "an API token: 8 to 512 characters of letters, digits and - . _ ~ + / = " \
             "(made by `wattprint server token create`)"

_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
                   r"|\[[0-9A-Fa-f:.]+\])$")
_PATH = re.compile(r"^(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]*)*$")
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{8,512}$")


def server_url(value: Any) -> str:
    """The normalised server URL (lower-case scheme and host, no trailing ``/``), the key
    of the outbox. Raises ``ValueError`` naming what is wrong."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("empty")
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise ValueError(f"not a URL ({err})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("the scheme must be http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise ValueError("no user or password in the URL: the token goes in "
                         "WATTPRINT_TOKEN")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError("no query (?...) or fragment (#...)")
    host = parts.netloc.rsplit("@", 1)[-1]
    if port is not None or host.endswith(":"):
        host = host[:host.rfind(":")]
    if not host or not _HOST.match(host):
        raise ValueError(f"{host!r} is not a host name or address")
    if port is not None and not 0 < port < 65536:
        raise ValueError("the port must be from 1 to 65535")
    path = parts.path.rstrip("/")
    if not _PATH.match(path):
        raise ValueError(f"{path!r} is not a URL path")
    scheme = parts.scheme.lower()
    if port == {"http": 80, "https": 443}[scheme]:
        port = None  # one server, one outbox key: http://h:80 is http://h
    netloc = host.lower() + (f":{port}" if port is not None else "")
    return urlunsplit((scheme, netloc, path, "", ""))


def api_token(value: Any) -> str:
    """A token as given (surrounding spaces removed). Raises ``ValueError``."""
    if not isinstance(value, str) or not _TOKEN.match(value.strip()):
        raise ValueError
    return value.strip()


def mask_token(token: Any) -> str:
    """What may be shown of a token: its first 4 characters (``wpt_``, the kind) and its
    length; never the secret part."""
    if not isinstance(token, str) or not token:
        return "(not set)"
    shown = token[:4] if len(token) >= 12 else ""
    return f"{shown}… ({len(token)} characters)"


@dataclass(frozen=True)
class Target:
    """A server to push to: its normalised URL and the token (``None``: not configured;
    enough for ``--dry-run``, which only reads the outbox). ``token_from`` says where the
    token was set, for the line that asks to check it (``WATTPRINT_TOKEN``, ``--token``,
    ``` `token` in /path/wattprint.toml```)."""

    server: str
    token: str | None
    token_from: str = "the token"

    def __repr__(self) -> str:  # never the token in full, even in a traceback
        return f"Target(server={self.server!r}, token={mask_token(self.token)!r})"


def _token_from(source: str | None) -> str:
    """Where to check a token, from its source in :class:`wattprint.config.Config`."""
    if not source or source == "default" or source == "environment WATTPRINT_TOKEN":
        return "WATTPRINT_TOKEN"
    if source.startswith("flag "):
        return source[len("flag "):]
    if source.startswith("environment "):
        return source[len("environment "):]
    return f"`token` in {source}"  # a config file (and its table)


def target_from(values: Mapping[str, Any], *, server: str | None = None,
                token: str | None = None,
                sources: Mapping[str, str] | None = None) -> Target | None:
    """The target named by flags (``server``, ``token``; checked here) over the settings
    ``values`` (already checked by :mod:`wattprint.config`; ``sources``: where each came
    from, so that a refused token is looked for where it was set); ``None`` when no
    server is configured."""
    from ..errors import UsageError

    if server is not None:
        try:
            server = server_url(server)
        except ValueError as err:
            raise UsageError(f"--server {server!r} is not valid ({err}); expected "
                             f"{SERVER_RULE}") from None
    if token is not None:
        try:
            token = api_token(token)
        except ValueError:
            raise UsageError(f"--token {mask_token(token)} is not valid; expected "
                             f"{TOKEN_RULE}") from None
    server = server or values.get("server")
    if not server:
        return None
    if token:
        return Target(server, token, "--token")
    return Target(server, values.get("token"), _token_from((sources or {}).get("token")))
