"""Validation against the published figures: the report's structure, the targets of issue 5
evaluated and printed, and the measured-power training rows held to their targets."""

from __future__ import annotations

import json
import re

import pytest

from wattprint.estimate import run_validation
from wattprint.estimate._published import inference_rows, training_rows
from wattprint.estimate.validate import GROUPS


@pytest.fixture(scope="module")
def report():
    return run_validation()


def test_the_shipped_copies_are_the_development_set():
    assert len(training_rows()) >= 40 and len(inference_rows()) >= 90
    assert any(r["id"] == "patterson21-gpt3" for r in training_rows())


def test_every_row_is_estimated_or_skipped_with_a_reason(report):
    ids = {r.id for r in report.rows} | {i for _, i, _ in report.skipped}
    assert {r["id"] for r in inference_rows()} <= ids
    assert all(reason for _, _, reason in report.skipped)
    for r in report.rows:
        assert r.group in GROUPS and r.inputs and r.boundary and r.published > 0
        assert r.estimate.low <= r.estimate.central <= r.estimate.high


def test_measured_rows_are_the_patterson_tables_and_use_no_published_power(report):
    measured = [r for r in report.rows if r.group == "train-measured"]
    assert len(measured) == 11 and all(r.id.startswith("patterson21") for r in measured)
    for r in measured:
        assert "accelerator-h" in r.inputs and " W" not in r.inputs


def test_targets_are_evaluated_consistently(report):
    names = {t.name for t in report.targets}
    assert {"measured-median", "measured-coverage", "compute-median", "inference-2x"} <= names
    for t in report.targets:
        assert t.achieved is not None
        limit = float(re.search(r"[\d.]+", t.threshold).group(0)) / 100
        assert t.met == (t.achieved <= limit if "≤" in t.threshold else t.achieved >= limit)
    s = report.summaries["train-measured"]
    assert s.median_ape == pytest.approx(sorted(abs(r.error) for r in report.rows
                                                if r.group == "train-measured")[5])


def test_measured_power_targets_hold(report):
    # The independent check of the training power model: these targets are met today and
    # must stay met; the others are reported, not asserted (docs/estimate.md).
    by_name = {t.name: t for t in report.targets}
    assert by_name["measured-median"].met, by_name["measured-median"]
    assert by_name["measured-coverage"].met, by_name["measured-coverage"]


def test_report_prints_rows_summaries_and_targets(report):
    text = report.text()
    assert "patterson21-gpt3" in text and "inputs:" in text and "published:" in text
    assert "median |error|" in text and "Targets (issue 5):" in text
    assert text.count("[MET ]") + text.count("[MISS]") == len(report.targets)
    short = report.text(rows=False)
    assert "inputs:" not in short and "Targets (issue 5):" in short
    d = json.loads(json.dumps(report.to_dict()))
    assert set(d) == {"rows", "skipped", "summaries", "targets"}
