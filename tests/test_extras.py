"""What users install: extras take ranges (exact pins only in the test/CI install), and
``pip install 'wattprint[mlflow]'`` brings everything MLflow needs to log to its default
local store (MLflow >= 3.7: ``sqlite:///mlflow.db``), proven by logging in a fresh folder
and checking that every distribution imported on the way comes with the extra."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PINNED_EXTRAS = {"test", "bench"}  # the CI install and the benchmark comparison


def extras() -> dict[str, list[str]]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["optional-dependencies"]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower()


def test_user_extras_take_ranges_and_only_the_test_install_pins() -> None:
    for extra, reqs in extras().items():
        if extra in PINNED_EXTRAS:
            continue
        pinned = [r for r in reqs if "==" in r or "===" in r]
        assert not pinned, f"[{extra}] pins {pinned}: user extras take ranges"
    torch = [r for r in extras()["torch"] if _name(r) == "torch"]
    assert torch and ">=" in torch[0]
    assert any(r.startswith("torch==") for r in extras()["test"])  # the CPU build CI uses
    assert "wattprint[torch" in " ".join(extras()["integrations"])


def test_the_versions_docs_name_are_the_test_pins_and_fit_the_user_extras() -> None:
    """docs/integrations.md's "Tested with …" is exactly what ``[test]`` pins for the
    integrations' libraries, and each pin lies in the range the user extras give."""
    from packaging.requirements import Requirement

    text = (ROOT / "docs" / "integrations.md").read_text()
    tested = re.search(r"Tested with\s+(.+?)\.\n", text, re.DOTALL)
    assert tested, "docs/integrations.md: no 'Tested with ...' sentence"
    named = {_norm(n): v for n, v in
             re.findall(r"([A-Za-z][\w-]*)\s+(\d+(?:\.\d+)+)", tested.group(1))}
    pins = {_norm(r.name): str(r.specifier).removeprefix("==")
            for r in map(Requirement, extras()["test"]) if _norm(r.name) in named}
    assert pins == named, f"[test] pins {pins}, docs/integrations.md names {named}"
    assert {"torch", "lightning", "transformers", "accelerate", "mlflow-skinny",
            "wandb"} <= set(pins)
    for extra, reqs in extras().items():
        for r in map(Requirement, reqs):
            if extra not in PINNED_EXTRAS and _norm(r.name) in pins:
                assert r.specifier.contains(pins[_norm(r.name)]), \
                    f"[test] pins {r.name}=={pins[_norm(r.name)]}, outside [{extra}]'s {r}"


def _closure(names: set[str]) -> set[str]:
    """The installed distributions ``names`` pull in (their requirements, recursively;
    requirements behind an extra of theirs left out)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in reqs:
            if "extra ==" in req.replace('"', "").replace("'", ""):
                continue
            todo.append(_name(req))
    return seen


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# A fresh install of the extra, simulated: importing any installed distribution that
# ``wattprint[mlflow]`` does not bring fails as if it were absent (MLflow imports pandas,
# IPython… only when present), then wattprint logs with MLflow's defaults.
_LOG = r"""
import json, os, re, sys
from importlib import metadata
allowed = set(json.loads(os.environ["WP_ALLOWED"]))
dists = metadata.packages_distributions()
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()

class NotInTheExtra:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in dists and top != "wattprint" and not top.startswith("_") \
                and not any(norm(d) in allowed for d in dists[top]):
            raise ModuleNotFoundError(f"No module named {top!r}", name=top)
        return None

sys.meta_path.insert(0, NotInTheExtra())
import wattprint
from wattprint.testing import FakeSensor
from wattprint.integrations.mlflow import log_run
with wattprint.track("extra", sensors=[FakeSensor(10.0)], rate_hz=50) as run:
    run.count(samples=4)
print(json.dumps({"run": log_run(run.result, carbon=False)}))
"""


@pytest.mark.slow
def test_mlflow_extra_logs_to_the_default_local_store(tmp_path) -> None:
    pytest.importorskip("mlflow", reason="needs pip install 'wattprint[mlflow]'")
    core = {_name(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())
            ["project"]["dependencies"]}
    allowed = {_norm(n) for n in _closure({_name(r) for r in extras()["mlflow"]} | core)}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", "WATTPRINT_"))}  # MLflow's defaults, as new
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["WP_ALLOWED"] = json.dumps(sorted(allowed))
    proc = subprocess.run([sys.executable, "-c", _LOG], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (tmp_path / "mlflow.db").exists()  # the database store, not a refused file store
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.get_run(out["run"])
    assert run.data.metrics["count/samples"] == 4 and run.info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(out["run"], "wattprint")} == {
        "wattprint/wattprint_report.json", "wattprint/wattprint_summary.txt"}
