"""Running the ``wattprint`` command line as a real subprocess in tests, against a ledger
in a temporary folder and with no user or project configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import psutil

WATTPRINT = [sys.executable, "-m", "wattprint"]


def cli_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
    env.update(WATTPRINT_LEDGER=str(tmp_path / "ledger.db"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_STATE_HOME=str(tmp_path / "state"),
               PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def wp(tmp_path, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
       cwd: Any = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m wattprint ARGS`` and return the finished process."""
    return subprocess.run([*WATTPRINT, *args], env=env or cli_env(tmp_path),
                          cwd=str(cwd or tmp_path), capture_output=True, text=True,
                          timeout=timeout)


def wp_json(tmp_path, *args: str, **kw: Any) -> Any:
    proc = wp(tmp_path, *args, "--json", **kw)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_clean_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """A user error: exit 2, one ``wattprint: error:`` line naming the problem, no
    traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert "wattprint: error:" in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


def kill_tree(pid: int) -> None:
    try:
        procs = psutil.Process(pid).children(recursive=True) + [psutil.Process(pid)]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
