"""``wattprint server``: run the team server, manage its tokens, migrate its database.

    wattprint server [--db URL] [--host H] [--port P] [--workers N]
    wattprint server token create --project P [--read-only] [--name N]
    wattprint server token create --admin [--name N]
    wattprint server token list [--json]
    wattprint server token revoke ID|PREFIX
    wattprint server migrate

The database is ``--db``, else ``WATTPRINT_SERVER_DB``, else a SQLite file in the user
data folder. Only argument parsing happens before the server libraries are needed; a
missing ``[server]`` extra is one line naming ``pip install 'wattprint[server]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ..errors import UsageError

__all__ = ["add_arguments", "handle", "redact"]

DEFAULT_PORT = 8765


def _add_db(p: argparse.ArgumentParser, default: Any = None) -> None:
    p.add_argument("--db", metavar="URL", default=default,
                   help="database URL: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
                        "(default: WATTPRINT_SERVER_DB, then server.db in the wattprint "
                        "data folder)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    _add_db(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for every "
                        "interface)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument("--workers", type=int, default=1,
                   help="app processes (default 1); the app is stateless")
    sub = p.add_subparsers(dest="server_command", metavar="SUBCOMMAND")
    token = sub.add_parser("token", help="create, list or revoke API tokens")
    tsub = token.add_subparsers(dest="token_command", metavar="ACTION")
    create = tsub.add_parser("create", help="create a token (printed once)")
    create.add_argument("--project", help="the project the token reads and writes")
    create.add_argument("--read-only", action="store_true",
                        help="a token that reads only (dashboards)")
    create.add_argument("--admin", action="store_true",
                        help="a token over every project (no --project)")
    create.add_argument("--name", help="a label for the token (who or what uses it)")
    listing = tsub.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--json", action="store_true", help="JSON output")
    revoke = tsub.add_parser("revoke", help="revoke a token by id or prefix")
    revoke.add_argument("token", metavar="ID", help="the id or prefix `token list` shows")
    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    for q in (create, listing, revoke, migrate):
        _add_db(q, default=argparse.SUPPRESS)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _engine(url: str) -> Any:
    """An engine over ``url`` with the schema up to date; a URL that names no usable
    database is one line saying so (exit 2)."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    from ._db import make_engine
    from ._migrate import upgrade

    shown = redact(url)
    fix = ("give --db sqlite:///PATH or --db postgresql+psycopg://USER:PASSWORD@HOST/DB "
           "(or set WATTPRINT_SERVER_DB)")
    try:
        engine = make_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as err:
        raise UsageError(f"the database URL {shown!r} is not one the server can use "
                         f"({str(err).splitlines()[0]}): it supports SQLite and "
                         f"PostgreSQL; {fix}") from None
    try:
        upgrade(engine)
    except OperationalError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        raise UsageError(f"cannot use the database {shown}: {reason}; check that it runs "
                         f"and accepts this user, or {fix}") from None
    return engine


def handle(args: argparse.Namespace) -> int:
    from . import require_server

    require_server("wattprint server")
    from ._db import default_db_url

    url = args.db or default_db_url()
    command = getattr(args, "server_command", None)
    if command == "migrate":
        from ._migrate import current_revision

        engine = _engine(url)
        print(f"database {redact(url)} is at schema revision {current_revision(engine)}")
        return 0
    if command == "token":
        return _token(args, url)
    return _serve(args, url)


def _token(args: argparse.Namespace, url: str) -> int:
    from sqlalchemy.orm import Session

    from ._auth import create_token, list_tokens, revoke_token

    action = getattr(args, "token_command", None)
    if action is None:
        raise UsageError("say what to do with tokens: wattprint server token "
                         "create|list|revoke")
    engine = _engine(url)
    with Session(engine) as session, session.begin():
        if action == "create":
            if args.admin and args.read_only:
                raise UsageError("--admin and --read-only do not go together: an admin "
                                 "token reads and writes every project")
            role = "admin" if args.admin else ("read" if args.read_only else "write")
            secret, row = create_token(session, project=args.project, role=role,
                                       name=args.name)
            print(secret)
            scope = "every project" if role == "admin" else f"project {args.project!r}"
            print(f"token {row.id} ({row.prefix}), {role}, {scope}: store it now, it is not "
                  "shown again", file=sys.stderr)
        elif action == "list":
            tokens = list_tokens(session)
            if args.json:
                print(json.dumps(tokens, indent=1))
            else:
                from .._printable import printable

                print(f"{'ID':>4}  {'PREFIX':<12}  {'ROLE':<5}  {'PROJECT':<20}  "
                      f"{'CREATED':<20}  STATE    NAME")
                for t in tokens:
                    print(f"{t['id']:>4}  {t['prefix']:<12}  {t['role']:<5}  "
                          f"{printable(t['project'] or '*'):<20}  {t['created_at']:<20}  "
                          f"{'revoked' if t['revoked'] else 'active ':<7}  "
                          f"{printable(t['name'] or '')}")
        else:
            row = revoke_token(session, args.token)
            print(f"token {row.id} ({row.prefix}) revoked")
    return 0


def _serve(args: argparse.Namespace, url: str) -> int:
    import uvicorn

    from .._printable import printable

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: a port is from 1 to 65535 (e.g. "
                         f"--port {DEFAULT_PORT})")
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers}: at least 1")
    _engine(url).dispose()  # migrate once, before any app process starts
    print(f"wattprint server on http://{printable(args.host)}:{args.port} "
          f"(database {printable(redact(url))})", file=sys.stderr, flush=True)
    if args.workers == 1:
        from .app import create_app

        uvicorn.run(create_app(url, migrate=False), host=args.host, port=args.port,
                    log_level="warning")
    else:
        os.environ["WATTPRINT_SERVER_DB"] = url
        uvicorn.run("wattprint.server.app:create_app_from_env", factory=True,
                    host=args.host, port=args.port, workers=args.workers,
                    log_level="warning")
    return 0
