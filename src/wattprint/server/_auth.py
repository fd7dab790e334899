"""Projects and API tokens: creating, listing and revoking tokens, and the request
dependency that turns ``Authorization: Bearer TOKEN`` into a :class:`Principal`.

A token is ``wpt_`` + 43 characters of a 32-byte random secret (URL-safe base64). Only
its sha256 is stored; a request's token is hashed, looked up by that hash, and the
stored hash compared with ``hmac.compare_digest``. Roles: ``admin`` (every project,
read and write), ``write`` (its project: push and read), ``read`` (its project: read
only, for dashboards).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import UsageError
from ._db import Project, Token

__all__ = ["Principal", "ROLES", "create_token", "list_tokens", "revoke_token",
           "authenticate", "hash_secret", "get_or_create_project", "PROJECT_PATTERN"]

ROLES = ("admin", "write", "read")
TOKEN_PREFIX = "wpt_"
#: A project name: 1 to 128 printable characters, no slash or whitespace at the ends.
PROJECT_PATTERN = re.compile(r"^[^\s/\x00-\x1f\x7f](?:[^/\x00-\x1f\x7f]{0,126}[^\s/\x00-\x1f\x7f])?$")


@dataclass(frozen=True)
class Principal:
    """Who a request is: the token's id, role and project (None for admin)."""

    token_id: int
    role: str
    project_id: int | None
    project: str | None

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "write")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_project_name(name: str) -> str:
    if not isinstance(name, str) or not PROJECT_PATTERN.match(name):
        raise UsageError(f"project {name!r} is not a valid project name: 1 to 128 "
                         "characters, no '/' or control characters, no space at either end "
                         "(e.g. 'llm-pretraining')")
    return name


def get_or_create_project(session: Session, name: str) -> Project:
    check_project_name(name)
    project = session.scalars(select(Project).where(Project.name == name)).first()
    if project is None:
        project = Project(name=name, created_at=_now())
        session.add(project)
        session.flush()
    return project


def create_token(session: Session, *, project: str | None, role: str = "write",
                 name: str | None = None) -> tuple[str, Token]:
    """A new token (the secret, shown once, and its row). ``project`` is required
    except for ``admin``, which must have none."""
    if role not in ROLES:
        raise UsageError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if role == "admin" and project is not None:
        raise UsageError("an admin token covers every project: give --admin without "
                         "--project")
    if role != "admin" and not project:
        raise UsageError("a token belongs to a project: give --project NAME (or --admin "
                         "for a token over every project)")
    if name is not None and len(name) > 256:
        raise UsageError("a token name is at most 256 characters")
    project_row = get_or_create_project(session, project) if project else None
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Token(prefix=secret[:12], secret_sha256=hash_secret(secret), name=name,
                role=role, project_id=project_row.id if project_row else None,
                created_at=_now())
    session.add(row)
    session.flush()
    return secret, row


def list_tokens(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(Token, Project.name).outerjoin(
        Project, Token.project_id == Project.id).order_by(Token.id)).all()
    return [dict(id=t.id, prefix=t.prefix, name=t.name, role=t.role, project=p,
                 created_at=t.created_at.isoformat(timespec="seconds") + "Z",
                 revoked=t.revoked_at is not None) for t, p in rows]


def revoke_token(session: Session, ident: str) -> Token:
    """Revoke the token with this id or prefix. Raises :class:`UsageError`."""
    query = select(Token)
    query = (query.where(Token.id == int(ident)) if ident.isdigit()
             else query.where(Token.prefix == ident))
    row = session.scalars(query).first()
    if row is None:
        raise UsageError(f"no token {ident!r}; list them with `wattprint server token list`")
    if row.revoked_at is None:
        row.revoked_at = _now()
    return row


def authenticate(session: Session, token: str | None) -> Principal | None:
    """The principal of a bearer token, or None (unknown, malformed or revoked)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_secret(token)
    row = session.execute(select(Token, Project.name).outerjoin(
        Project, Token.project_id == Project.id).where(
        Token.secret_sha256 == digest)).first()
    if row is None:
        return None
    tok, project = row
    if not hmac.compare_digest(tok.secret_sha256, digest) or tok.revoked_at is not None:
        return None
    return Principal(token_id=tok.id, role=tok.role, project_id=tok.project_id,
                     project=project)
