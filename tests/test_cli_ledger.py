"""Browsing and keeping runs from the command line, as real subprocesses: runs, show,
compare, export, tag, rm and config, their JSON output and their errors."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest

import wattprint
from _cli import assert_clean_error, cli_env, wp, wp_json
from wattprint.ledger import Ledger
from wattprint.testing import FakeSensor


@pytest.fixture
def ledger_dir(tmp_path):
    """A ledger with three runs: a, b (project llm), c (modelled, failed)."""
    path = str(tmp_path / "ledger.db")
    with Ledger(path) as ledger:
        for name, power, tags, project, code in (
                ("a", 100.0, ["x"], "llm", 0), ("b", 200.0, ["x", "y"], "llm", 0),
                ("c", 50.0, [], None, 1)):
            kind = "modelled" if name == "c" else "measured"
            sensor = FakeSensor(power, name="gpu:0" if kind == "measured" else "cpu-model",
                                domain="gpu" if kind == "measured" else "cpu", kind=kind,
                                provenance={"uncertainty": 0.35, "model": "cpu-model",
                                            "coefficients": {"max_w_per_vcpu": {
                                                "value": 12.5, "source": "test"}}}
                                if kind == "modelled" else None)
            run = wattprint.start(name, sensors=[sensor], rate_hz=100, ledger=ledger,
                                  project=project, tags=tags, command=["python", name])
            with run.phase("train"):
                time.sleep(0.1)
                run.count(tokens=1000)
            run.stop(exit_code=code)
    return tmp_path


def test_runs_lists_newest_first_with_filters(ledger_dir) -> None:
    proc = wp(ledger_dir, "runs")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "STARTED", "STATUS"]
    assert [line.split()[-1] for line in lines[1:]] == ["c", "b", "a"]
    assert "failed" in lines[1] and "modelled" in lines[1] and "x,y" in lines[2]
    assert [r["name"] for r in wp_json(ledger_dir, "runs", "--project", "llm")] == ["b", "a"]
    assert [r["name"] for r in wp_json(ledger_dir, "runs", "--tag", "y")] == ["b"]
    assert [r["name"] for r in wp_json(ledger_dir, "runs", "--status", "failed")] == ["c"]
    with Ledger(str(ledger_dir / "ledger.db"), readonly=True) as ledger:
        # each run's energy is its power times its wall-clock length, which load stretches
        by_energy = [r.name for r in sorted(ledger.runs(), key=lambda r: -r.energy_j)]
    assert [r["name"] for r in wp_json(ledger_dir, "runs", "--sort", "energy")] == by_energy
    assert [r["name"] for r in wp_json(ledger_dir, "runs", "--sort", "name", "--asc")] == [
        "a", "b", "c"]
    assert wp_json(ledger_dir, "runs", "--since", "2999-01-01") == []
    assert len(wp_json(ledger_dir, "runs", "--since", "1d", "--until", "2999-01-01")) == 3
    proc = wp(ledger_dir, "runs", "-n", "1")
    assert "(1 of 3 runs" in proc.stdout
    assert_clean_error(wp(ledger_dir, "runs", "--since", "last tuesday"), "--since",
                       "is not a date")


def test_runs_on_an_empty_or_missing_ledger(tmp_path) -> None:
    proc = wp(tmp_path, "runs")
    assert proc.returncode == 0 and "no runs recorded yet" in proc.stdout
    assert not (tmp_path / "ledger.db").exists()  # reading never creates the file


def test_ledger_flag_in_either_position(ledger_dir, tmp_path) -> None:
    env = cli_env(tmp_path, WATTPRINT_LEDGER=str(tmp_path / "elsewhere.db"))
    db = str(ledger_dir / "ledger.db")
    for args in (("--ledger", db, "runs", "--json"), ("runs", "--ledger", db, "--json")):
        proc = wp(tmp_path, *args, env=env)
        assert proc.returncode == 0 and len(json.loads(proc.stdout)) == 3


def test_show_labels_measured_and_modelled_devices(ledger_dir) -> None:
    proc = wp(ledger_dir, "show", "last")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("run ") and "'c'" in out and "failed (exit 1)" in out
    assert "cpu-model" in out and "modelled" in out and "±35%" in out
    assert "max_w_per_vcpu=12.5" in out and "range" in out
    assert "phases" in out and "train" in out and "J/token" in out
    assert "measuring cost" in out and "% of one core), measured" in out
    b = wp_json(ledger_dir, "show", "last~1")
    assert b["overhead_cpu_s"] > 0
    assert b["name"] == "b" and b["devices"][0]["kind"] == "measured"
    assert b["per_unit"]["j_per_token"] == pytest.approx(b["energy_j"] / 1000)
    prefix = b["id"][:11]
    assert wp_json(ledger_dir, "show", prefix)["id"] == b["id"]


def test_unknown_and_ambiguous_run_ids(ledger_dir) -> None:
    assert_clean_error(wp(ledger_dir, "show", "zzzzzzzzzzzz"), "no run with id",
                       "wattprint runs")
    assert_clean_error(wp(ledger_dir, "show", "0"), "matches several runs")
    assert_clean_error(wp(ledger_dir, "show", "not/an/id"), "not a run id")
    assert_clean_error(wp(ledger_dir, "compare", "last", "last~7"), "there is no run")


def test_compare_side_by_side(ledger_dir) -> None:
    proc = wp(ledger_dir, "compare", "last~2", "last~1")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert "energy" in rows and "duration" in rows and "J/token" in rows
    assert rows["energy"].rstrip().endswith("%")
    data = wp_json(ledger_dir, "compare", "last~2", "last~1")
    rows = {r["figure"]: r for r in data["rows"]}
    with Ledger(str(ledger_dir / "ledger.db"), readonly=True) as ledger:
        a, b = ledger.get(data["a"]), ledger.get(data["b"])
    assert (a.name, b.name) == ("a", "b")
    # the energies follow each run's wall-clock length (a loaded machine stretches one
    # sleep more than the other): the change is checked against the ledger's figures, the
    # 200 W against 100 W on the peak power, which no delay changes
    assert rows["energy"]["change"] == pytest.approx(b.energy_j / a.energy_j - 1, rel=1e-9)
    assert rows["peak power"]["change"] == pytest.approx(1.0)
    assert any(r["figure"] == "phase train J/token" for r in data["rows"])


def test_export_csv_jsonl_and_samples(ledger_dir) -> None:
    proc = wp(ledger_dir, "export")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [r["name"] for r in rows] == ["a", "b", "c"]
    assert rows[1]["tags"] == "x;y" and float(rows[1]["j_per_token"]) > 0
    phases = [json.loads(line) for line in
              wp(ledger_dir, "export", "--what", "phases", "--format", "jsonl").stdout.splitlines()]
    assert [p["phase"] for p in phases] == ["train"] * 3
    out = ledger_dir / "samples.csv"
    proc = wp(ledger_dir, "export", "last", "--what", "samples", "-o", str(out))
    assert proc.returncode == 0 and "wrote" in proc.stderr
    samples = list(csv.DictReader(out.open()))
    assert samples and samples[0]["device"] == "cpu-model"
    assert [float(s["t_s"]) for s in samples] == sorted(float(s["t_s"]) for s in samples)
    few = wp(ledger_dir, "export", "last", "--what", "samples", "--every", "1").stdout
    assert len(few.splitlines()) == 2  # header + one sample per second of a 0.1 s run
    devices = wp(ledger_dir, "export", "--what", "devices", "--format", "jsonl").stdout
    assert json.loads(devices.splitlines()[0])["kind"] == "measured"


def test_export_errors_leave_no_file(ledger_dir) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        out = ledger_dir / "runs.parquet"
        assert_clean_error(wp(ledger_dir, "export", "-o", str(out)), "pip install")
        assert not out.exists() and not list(ledger_dir.glob(".runs.parquet*"))
    else:
        out = ledger_dir / "runs.parquet"
        assert wp(ledger_dir, "export", "-o", str(out)).returncode == 0
        import pyarrow.parquet as pq

        assert pq.read_table(str(out)).num_rows == 3
    assert_clean_error(wp(ledger_dir, "export", "--format", "parquet"), "-o PATH")
    assert_clean_error(wp(ledger_dir, "export", "-o", str(ledger_dir / "no" / "x.csv")),
                       "does not exist")


def test_tag_and_rm(ledger_dir) -> None:
    proc = wp(ledger_dir, "tag", "last", "keep", "v2")
    assert proc.returncode == 0 and proc.stdout.strip().endswith("keep, v2")
    proc = wp(ledger_dir, "tag", "last", "--remove", "keep")
    assert proc.stdout.strip().endswith(": v2")
    assert_clean_error(wp(ledger_dir, "tag", "last", "bad tag"), "not valid")
    assert_clean_error(wp(ledger_dir, "tag", "last"), "give tags")
    victim = wp_json(ledger_dir, "runs")[0]["id"]
    proc = wp(ledger_dir, "rm", victim)
    assert proc.returncode == 0 and proc.stdout.strip() == f"removed {victim}"
    assert [r["name"] for r in wp_json(ledger_dir, "runs")] == ["b", "a"]
    assert_clean_error(wp(ledger_dir, "rm", victim), "no run with id")


def test_config_shows_values_and_sources(tmp_path) -> None:
    (tmp_path / "config" / "wattprint").mkdir(parents=True)
    (tmp_path / "config" / "wattprint" / "config.toml").write_text('zone = "DE"\npue = 1.3\n')
    (tmp_path / "pyproject.toml").write_text('[tool.wattprint]\nzone = "FR"\n')
    env = cli_env(tmp_path, WATTPRINT_RATE_HZ="5", WATTPRINT_TYPO="1")
    proc = wp(tmp_path, "config", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line}
    assert "FR" in rows["zone"] and "pyproject.toml [tool.wattprint]" in rows["zone"]
    assert "1.3" in rows["pue"] and "config.toml" in rows["pue"]
    assert "environment WATTPRINT_RATE_HZ" in rows["rate_hz"]
    assert "environment WATTPRINT_LEDGER" in rows["ledger"]
    assert "ignored: WATTPRINT_TYPO" in proc.stdout and "precedence" in proc.stdout
    data = json.loads(wp(tmp_path, "--ledger", "x.db", "config", "--json", env=env).stdout)
    assert data["settings"]["ledger"]["source"] == "flag --ledger"
    assert data["settings"]["mode"] == {"value": "process", "source": "default"}
