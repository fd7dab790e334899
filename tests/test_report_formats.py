"""Report formats from one ReportData: the Hugging Face model-card block (validated
against the documented fields), the paper statement (Markdown, LaTeX), the EU AI Act
energy section, JSON with its schema version, SCI, comparisons, the CLI, and speed on a
ledger with a million samples."""

from __future__ import annotations

import dataclasses
import json
import re
import time

import pytest
import yaml

from _cli import assert_clean_error, cli_env, wp
from _report_fixtures import GPU_PROV, fp16_and_int8, record_run, sensorless
from _wait import until
from wattprint.errors import UsageError
from wattprint.ledger import Ledger
from wattprint.report import MODEL_CARD_KEYS, SCHEMA_VERSION, build_report, render

# https://huggingface.co/docs/hub/model-cards-co2 documents these keys and types.
HF_TYPES = {"emissions": (int, float), "source": str, "training_type": str,
            "geographical_location": str, "hardware_used": str}


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("reports") / "ledger.db")
    with Ledger(path) as ledger:
        fp16_and_int8(ledger)
        sensorless(ledger)
    return path


@pytest.fixture(scope="module")
def runs(ledger_path) -> dict:
    with Ledger(ledger_path) as ledger:
        ids = {r.name: r.id for r in ledger.runs()}
        return {name: build_report(ledger, rid) for name, rid in ids.items()}


def check_model_card(text: str) -> dict:
    """A card huggingface_hub loads, whose metadata is the block: only the documented
    keys, emissions a number of grams."""
    from huggingface_hub import ModelCard

    assert text.startswith("---\n")
    data = ModelCard(text).data.to_dict()
    assert list(data) == ["co2_eq_emissions"]
    assert yaml.safe_load(text.split("---\n")[1]) == data  # plain YAML readers agree
    block = data["co2_eq_emissions"]
    assert set(block) <= set(HF_TYPES) and "emissions" in block, set(block)
    for key, value in block.items():
        assert isinstance(value, HF_TYPES[key]) and not isinstance(value, bool), (key, value)
    if "training_type" in block:
        assert block["training_type"] in ("pre-training", "fine-tuning")
    assert block["emissions"] >= 0
    return block


def test_model_card_block_matches_the_documented_fields(runs) -> None:
    run = runs["llama-ft fp16"]
    block = check_model_card(render([run], "model-card"))
    assert tuple(block) == MODEL_CARD_KEYS  # all five, in the documented order
    assert block["emissions"] == pytest.approx(run.carbon["co2e_location_g"], rel=1e-5)
    assert 100 < block["emissions"] < 1000  # grams, not kilograms
    assert block["training_type"] == "fine-tuning"  # from the run's tag
    assert block["geographical_location"] == "Germany"
    assert block["hardware_used"].startswith("2 x NVIDIA A100-SXM4-80GB (measured)")
    assert "(modelled) (modelled)" not in block["hardware_used"]
    assert "wattprint" in block["source"] and "Electricity Maps" in block["source"]


def test_model_card_sums_runs_and_omits_an_unknown_training_type(runs) -> None:
    a, b, c = runs["llama-ft fp16"], runs["llama-ft int8"], runs["cpu baseline"]
    block = check_model_card(render([a, b], "model-card"))
    assert block["emissions"] == pytest.approx(
        a.carbon["co2e_location_g"] + b.carbon["co2e_location_g"], rel=1e-5)
    text = render([c], "model-card")
    block = check_model_card(text)
    assert "training_type" not in block and "--training-type" in text
    block = check_model_card(render([c], "model-card", training_type="pre-training"))
    assert block["training_type"] == "pre-training"
    assert "modelled" in block["source"]


def test_paper_statement_markdown(runs) -> None:
    md = render([runs["llama-ft fp16"]], "md")
    for needle in ("2 × NVIDIA A100-SXM4-80GB", "2 h", "kWh of IT energy", "PUE of 1.2",
                   "DE (Germany)", "gCO2e/kWh", "hourly", "location-based", "market-based",
                   "Electricity Maps", "| GPU-hours | 4 |", "SCI per token"):
        assert needle in md, needle
    sensorless_md = render([runs["cpu baseline"]], "md")
    assert "modelled from utilisation" in sensorless_md and "range" in sensorless_md
    assert "> No power sensor measured any of this run" in sensorless_md


def test_paper_statement_latex_is_escaped(runs) -> None:
    tex = render([runs["llama-ft fp16"]], "latex")
    assert "\\paragraph{Compute and emissions.}" in tex and "\\begin{tabular}{ll}" in tex
    assert "CO\\textsubscript{2}e" in tex and "$\\times$" in tex
    assert tex.count("{") == tex.count("}")
    run = runs["llama-ft fp16"]
    odd = dataclasses.replace(run, run={**run.run, "name": "lr_3e-4 & 50% #1 {x}"})
    tex = render([odd], "latex")
    assert "lr\\_3e-4 \\& 50\\% \\#1 \\{x\\}" in tex
    paragraph = tex.split("\\paragraph{Compute and emissions.}\n")[1].split("\n")[0]
    assert not re.search(r"(?<!\\)[%&_#]", paragraph)


def test_eu_ai_act_section(runs) -> None:
    measured = render([runs["llama-ft fp16"], runs["llama-ft int8"]], "eu-ai-act")
    assert "Annex XI" in measured and "2(e)" in measured and "2(d)" in measured
    assert "| runs covered | 2:" in measured
    assert "Partly measured" in measured  # RAM modelled, the rest measured
    assert "measurement method" in measured and "accelerator-hours" in measured
    estimated = render([runs["cpu baseline"]], "eu-ai-act")
    assert "Estimated (no power sensor was readable)" in estimated and "range" in estimated


def test_json_has_everything_with_a_schema_version(runs) -> None:
    run = runs["cpu baseline"]
    data = json.loads(render([run], "json"))
    assert data["schema_version"] == SCHEMA_VERSION == 1 and data["kind"] == "run"
    for key in ("run", "energy", "hardware", "devices", "phases", "work", "accounting",
                "carbon", "provenance", "equivalents", "sci", "uncertainty", "series"):
        assert key in data, key
    assert data["energy"]["basis"] == "modelled" and data["uncertainty"]["energy_low_j"] > 0
    assert "cpu_s" in data["run"] and "overhead_cpu_s" in data["run"]
    for row in data["provenance"]:  # every number says what it rests on
        assert row["basis"] in ("measured", "modelled", "estimated", "reference", "user",
                                "default"), row
        assert row["source"], row
    assert data["carbon"]["intensity_resolution"] == "annual"
    assert data["carbon"]["cumulative_g"][-1][1] == pytest.approx(
        data["carbon"]["co2e_location_g"])
    sci = {s["functional_unit"]: s for s in data["sci"]}
    assert sci["token"]["sci_g_per_unit"] == pytest.approx(
        data["carbon"]["co2e_location_g"] / 1e6)
    assert "M (embodied" in sci["token"]["note"]


def test_hourly_intensity_behind_the_cumulative_co2e(runs) -> None:
    c = runs["llama-ft fp16"].carbon
    assert c["intensity_resolution"] == "hourly"
    hours = c["intensity_g_per_kwh"]
    assert [t for t, _ in hours] == [0.0, 2400.0, 6000.0, 7200.0]  # 08:20 to 10:20 UTC
    assert len({v for _, v in hours}) > 1
    cum = [g for _, g in c["cumulative_g"]]
    assert cum == sorted(cum) and cum[-1] == pytest.approx(c["co2e_location_g"])


def test_comparison_md_and_json(runs) -> None:
    a, b = runs["llama-ft fp16"], runs["llama-ft int8"]
    md = render([a, b], "md")
    assert "Comparison of 2 runs" in md and "baseline" in md
    row = next(line for line in md.splitlines() if line.startswith("| IT energy"))
    assert "(-30.0%)" in row
    assert re.search(r"\| J/token \| [\d.]+ \| [\d.]+ \(-30\.0%\) \|", md)
    data = json.loads(render([a, b], "json"))
    assert data["kind"] == "comparison" and data["baseline"] == a.run["id"]
    energy = next(r for r in data["rows"] if r["figure"] == "IT energy")
    assert energy["changes"][1] == pytest.approx(-0.30, abs=0.01)


def test_unknown_format_and_training_type(runs, ledger_path) -> None:
    with pytest.raises(UsageError, match="unknown report format"):
        render([runs["cpu baseline"]], "pdf")
    with Ledger(ledger_path) as ledger:
        with pytest.raises(UsageError, match="pre-training"):
            build_report(ledger, "last", training_type="pretraining")


def test_cli_report_formats(ledger_path, tmp_path) -> None:
    env = cli_env(tmp_path, WATTPRINT_LEDGER=ledger_path)
    with Ledger(ledger_path) as ledger:
        ids = {r.name: r.id for r in ledger.runs()}
    a, b = ids["llama-ft fp16"], ids["llama-ft int8"]
    proc = wp(tmp_path, "report", a, "--format", "model-card", env=env)
    assert proc.returncode == 0, proc.stderr
    check_model_card(proc.stdout)
    proc = wp(tmp_path, "report", a, b, "-o", str(tmp_path / "cmp.html"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert 'data-chart="compare-power"' in (tmp_path / "cmp.html").read_text()
    proc = wp(tmp_path, "report", a, env=env)  # html by default, to a file named after it
    assert proc.returncode == 0 and (tmp_path / f"wattprint-report-{a}.html").exists()
    proc = wp(tmp_path, "report", a, "--format", "json", "--zone", "FR", "--pue", "1.5",
              env=env)
    data = json.loads(proc.stdout)
    assert data["carbon"]["zone"]["key"] == "FR" and data["energy"]["pue"] == 1.5
    assert data["carbon"]["intensity_resolution"] == "annual"  # no hourly data for FR
    proc = wp(tmp_path, "report", a, "--format", "md", "--price-per-kwh", "0.3", env=env)
    assert proc.returncode == 0 and "### Compute and emissions" in proc.stdout
    assert_clean_error(wp(tmp_path, "report", a, "--zone", "Atlantis", env=env), "Atlantis")
    assert_clean_error(wp(tmp_path, "report", "zzzzzz", env=env), "zzzzzz")
    proc = wp(tmp_path, "report", "--help", env=env)
    assert "eu-ai-act" in proc.stdout and "model-card" in proc.stdout


def test_a_million_samples_report_fast(tmp_path) -> None:
    with Ledger(str(tmp_path / "big.db")) as ledger:
        rid = record_run(ledger, name="long", duration_s=100_000, every_s=0.1,
                         devices=[("nvml:0", "gpu", "measured", "A100", GPU_PROV)],
                         power=[lambda t: 300.0 + (t % 600 < 60) * -150])
        started = time.thread_time()  # this thread's CPU: waiting for a loaded CPU is not cost
        data = build_report(ledger, rid)
        html = render([data], "html")
        elapsed = time.thread_time() - started
    assert elapsed < 2.0, elapsed
    (device,) = data.series["devices"]
    assert len(device["power_w"]) <= 2001
    assert data.energy["energy_j"] == pytest.approx(
        data.series["cumulative_energy_j"][-1][1], rel=1e-3)
    assert len(html) < 400_000


def test_report_of_a_run_still_running(tmp_path) -> None:
    from wattprint import Tracker
    from wattprint.testing import FakeSensor

    path = str(tmp_path / "live.db")
    sensor = FakeSensor(40.0, kind="modelled", name="cpu-model", domain="cpu",
                        provenance={"uncertainty": 0.3})
    with Tracker("live", sensors=[sensor], ledger=path, mode="machine") as run:
        def flushed_report():
            with Ledger(path, readonly=True) as ledger:
                return build_report(ledger, run.run_id)

        # the writer flushes every 0.5 s: a report with energy once it has
        assert until(lambda: flushed_report().energy["energy_j"] > 0, every_s=0.1)
        data = flushed_report()
    assert data.run["status"] == "running" and data.basis == "modelled"
    assert data.energy["energy_j"] > 0 and "still running" in data.notes[0]
    assert data.uncertainty["energy_low_j"] < data.energy["energy_j"] < \
        data.uncertainty["energy_high_j"]
    assert "No power sensors" in render([data], "html")
