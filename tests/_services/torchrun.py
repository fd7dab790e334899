"""Real ``torchrun`` for tests: ``python -m torch.distributed.run --standalone`` (what the
``torchrun`` command runs) with N CPU ranks and gloo, inside a loopback-only network
namespace (``netns.py``): torchrun's agent connects to the host name's address, which
outside the namespace need not be loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Mapping, Sequence

from ._proc import clean_env
from .netns import LoopbackNamespace

PIP_TORCH = "pip install -e '.[test,integrations]'"


def torchrun_argv(script: str | Path, nproc: int, args: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={nproc}", "--max_restarts=0", str(script), *args]


def torchrun(script: str | Path, nproc: int = 2, env: Mapping[str, str] | None = None,
             timeout: float = 180, args: Sequence[str] = (), cwd: Path | str | None = None,
             prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``torchrun --standalone --nproc_per_node=NPROC SCRIPT ARGS`` and return the
    finished process. ``env`` holds only the variables to add (``{"WATTPRINT_LEDGER": …}``,
    not a whole copied environment) to one without inherited launcher variables
    (``GLOO_SOCKET_IFNAME=lo`` is set); ``prefix`` goes before the launcher, e.g.
    ``[*WATTPRINT, "run", "--"]`` to wrap it. Whatever is left running in the namespace
    when the command ends or times out is killed."""
    try:
        import torch.distributed.run  # noqa: F401
    except ImportError:
        import pytest
        pytest.fail(f"torch is not installed; install it with `{PIP_TORCH}`", pytrace=False)
    return loopback_run([*prefix, *torchrun_argv(script, nproc, args)], env=env,
                        timeout=timeout, cwd=cwd)


def loopback_run(argv: Sequence[str], env: Mapping[str, str] | None = None,
                 timeout: float = 180, cwd: Path | str | None = None
                 ) -> subprocess.CompletedProcess[str]:
    """Run any command (a Lightning DDP script, ``wattprint run -- …``) in a fresh
    loopback-only namespace with the environment ``torchrun`` builds; kill what it
    leaves behind."""
    with LoopbackNamespace() as ns:
        return ns.run(argv, env=clean_env(env), timeout=timeout,
                      cwd=str(cwd) if cwd else None)
