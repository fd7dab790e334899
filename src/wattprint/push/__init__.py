"""Pushing recorded runs to a team server (``wattprint server``); the local ledger is the
outbox.

    from wattprint.ledger import Ledger
    from wattprint.push import push, configured_target

    with Ledger() as ledger:
        report = push(ledger)                  # every final run not acknowledged yet
        print(report.summary())

The server and token come from ``WATTPRINT_SERVER`` / ``WATTPRINT_TOKEN`` or the
``server`` / ``token`` settings (:mod:`wattprint.config`). Without a server nothing is
pushed and nothing changes. With both set, ``wattprint run`` and ``track(ledger=True)``
push each run once it is recorded, in the background (:mod:`._auto`); ``wattprint push``
sends whatever is left. Standard library only (``urllib``).
"""

from __future__ import annotations

from typing import Any, Sequence

from ._core import PushReport, RunPushed, push_runs, select_runs
from ._http import RetryPolicy
from ._target import Target, api_token, mask_token, server_url

__all__ = ["push", "configured_target", "PushReport", "RunPushed", "RetryPolicy", "Target",
           "server_url", "api_token", "mask_token", "push_runs", "select_runs"]


def configured_target(*, server: str | None = None, token: str | None = None,
                      config: Any = None) -> Target | None:
    """The server and token from the flags given over the settings (see
    :mod:`wattprint.config`); ``None`` when no server is configured. Raises
    :class:`~wattprint.errors.ConfigError` / :class:`~wattprint.errors.UsageError` for
    bad values."""
    from ._target import target_from

    if config is None:
        from ..config import load_config

        config = load_config()
    return target_from(config.values, server=server, token=token, sources=config.sources)


def push(ledger: Any, runs: Sequence[str] = (), *, target: Target | None = None,
         everything: bool = False, dry_run: bool = False,
         policy: RetryPolicy | None = None, **options: Any) -> PushReport:
    """Push ``runs`` (default: every final run waiting for the server; ``everything``:
    every final run, sent again even if acknowledged) from ``ledger`` to ``target``
    (default: :func:`configured_target`). Raises
    :class:`~wattprint.errors.UsageError` when no server is configured. ``options``:
    ``deadline_s`` and ``progress`` of :func:`push_runs`."""
    from ..errors import UsageError

    target = target if target is not None else configured_target()
    if target is None:
        raise UsageError("no team server configured: set WATTPRINT_SERVER (or the `server` "
                         "setting, or --server URL)")
    ids = select_runs(ledger, target.server, runs, everything=everything)
    return push_runs(ledger, target, ids, force=everything, dry_run=dry_run, policy=policy,
                     **options)
