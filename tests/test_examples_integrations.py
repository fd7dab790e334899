"""The integration examples run as users run them (``--quick``), print an energy summary
and record their runs in the ledger (``WATTPRINT_LEDGER`` points at a temporary file)."""

from __future__ import annotations

import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wattprint.ledger import Ledger

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CASES = [  # example, the libraries it needs, the extra that installs them, runs recorded
    ("torch_loop.py", ("torch",), "torch", 1),
    ("lightning_module.py", ("torch", "lightning"), "lightning", 1),
    ("transformers_finetune.py", ("torch", "transformers", "accelerate"), "hf", 1),
    ("inference_loop.py", ("torch", "transformers"), "hf", 2),
]


@pytest.mark.slow  # each example imports torch and trains in a fresh interpreter
@pytest.mark.parametrize("example, modules, extra, runs", CASES,
                         ids=[c[0] for c in CASES])
def test_example_runs_and_prints_its_energy(tmp_path, example, modules, extra, runs) -> None:
    for module in modules:
        pytest.importorskip(module, reason=f"needs pip install 'wattprint[{extra}]'")
    db = tmp_path / "ledger.db"
    env = {**os.environ, "WATTPRINT_LEDGER": str(db), "HF_HUB_OFFLINE": "1",
           "PYTHONWARNINGS": "ignore"}
    args = [sys.executable, str(EXAMPLES / example), "--quick"]
    if example == "transformers_finetune.py":
        args += ["--output-dir", str(tmp_path / "model")]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("wattprint run '") == runs, proc.stdout
    assert re.search(r"wattprint run '[^']+': [\d.,]+ (J|Wh|kWh) in [\d.,]+ (s|min|h)",
                     proc.stdout) and "phase " in proc.stdout
    with Ledger(db) as ledger:
        recorded = ledger.runs(project="examples")
    assert len(recorded) == runs and all(r.status == "finished" for r in recorded)
    if example == "transformers_finetune.py":
        card = (tmp_path / "model" / "README.md").read_text()
        assert "co2_eq_emissions:" in card and "fine-tuning" in card


def test_readme_links_every_example() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    for example, *_ in CASES:
        assert f"examples/{example}" in readme, example
    assert "docs/integrations.md" in readme
