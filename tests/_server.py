"""Plumbing for the team server's tests: an app over a fresh database (SQLite file or a
database of the throw-away PostgreSQL cluster) with tokens, and payloads from real ledger
runs (the report fixtures' recorded runs), cloned under other ids, users and hosts."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from wattprint.server import create_app
from wattprint.server._auth import create_token
from wattprint.wire import payload_digest


@dataclass
class Server:
    app: Any
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str, who: str = "a", **params: Any) -> Any:
        return self.client.get(path, headers=self.headers(who), params=params or None)

    def push(self, chunks: list[dict[str, Any]], who: str = "a") -> list[Any]:
        out = []
        for chunk in chunks:
            r = self.client.post("/api/v1/runs", json=chunk, headers=self.headers(who))
            assert r.status_code in (200, 201), r.text
            out.append(r)
        return out

    def token(self, name: str, *, project: str | None, role: str = "write") -> str:
        with self.app.state.sessions() as session, session.begin():
            secret, _ = create_token(session, project=project, role=role, name=name)
        self.tokens[name] = secret
        return secret


def make_server(url: str, **kwargs: Any) -> Server:
    """An app over ``url`` with tokens: ``a`` (write, project team-a), ``a_read`` (read,
    team-a), ``b`` (write, team-b), ``admin``."""
    app = create_app(url, **kwargs)
    server = Server(app, TestClient(app))
    server.token("a", project="team-a")
    server.token("a_read", project="team-a", role="read")
    server.token("b", project="team-b")
    server.token("admin", project=None, role="admin")
    return server


def clone(chunks: list[dict[str, Any]], run_id: str, **run: Any) -> list[dict[str, Any]]:
    """The same run under another id, with some run fields changed (digest recomputed)."""
    out = copy.deepcopy(chunks)
    for chunk in out:
        chunk["run"]["id"] = run_id
        chunk.pop("digest", None)
    out[0]["run"].update(run)
    digest = payload_digest(out)
    for chunk in out:
        chunk["digest"] = digest
    return out
