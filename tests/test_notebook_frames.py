"""Notebooks and analysis: RunResult's HTML card (escaped, with an inline SVG power chart
from the ledger), the live view (IPython display updates inside IPython, plain text
elsewhere), runs / phases / samples as pandas and polars DataFrames (both optional, with a
pip command when absent), and live metrics that never fall to 0 W between sampler
updates."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

import wattprint
import wattprint.ledger
from _wait import until
from wattprint.integrations._require import MissingExtraError
from wattprint.testing import FakeSensor


@pytest.fixture
def recorded(tmp_path):
    db = tmp_path / "l.db"
    with wattprint.track("<b>lr=3e-4 & 'x'</b>", ledger=db, project="nb",
                         sensors=[FakeSensor(40.0), FakeSensor(15.0, name="fake:cpu",
                                                                domain="cpu", kind="modelled",
                                                                device="Xeon (modelled)")],
                         rate_hz=50) as run:
        with run.phase("train"):
            time.sleep(0.25)
            run.count(samples=32, steps=4)
        with run.phase("validation"):
            time.sleep(0.05)
    return db, run.result


def test_result_html_card_is_escaped_and_has_a_power_chart(recorded) -> None:
    db, r = recorded
    html = r._repr_html_()
    assert len(html) < 20_000  # a card, not a dump of the dataclass
    assert "<b>lr=3e-4" not in html and "&lt;b&gt;lr=3e-4 &amp; &#x27;x&#x27;&lt;/b&gt;" in html
    assert "mixed" in html and "modelled" in html  # basis of the run and of a device
    assert "train" in html and "validation" in html and r.run_id in html
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    ET.fromstring(svg)  # well-formed
    assert 'data-chart="notebook-power"' in html
    points = re.search(r'data-points="(\d+)"', html)
    assert points and int(points.group(1)) >= 2
    assert "script" not in html.lower()


def test_result_html_without_a_ledger_has_no_chart() -> None:
    with wattprint.track("t", sensors=[FakeSensor(10.0)], rate_hz=50) as run:
        time.sleep(0.02)
    html = run.result._repr_html_()
    assert "<svg" not in html and "wattprint run t" in html


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_runs_phases_and_samples_frames(recorded, library) -> None:
    lib = pytest.importorskip(library)
    db, r = recorded
    runs = wattprint.ledger.runs(db, project="nb")
    df = runs.to_pandas() if library == "pandas" else runs.to_polars()
    assert isinstance(df, lib.DataFrame) and len(df) == 1
    row = {c: df[c][0] for c in ("id", "energy_j", "basis", "count_samples", "energy_gpu_j")}
    assert row["id"] == r.run_id and row["energy_j"] == pytest.approx(r.energy_j)
    assert row["basis"] == "mixed" and row["count_samples"] == 32
    assert row["energy_gpu_j"] == pytest.approx(r.by_domain["gpu"])
    phases = r.phases_frame(library)
    assert list(phases["phase"]) == ["train", "validation"]
    assert phases["j_per_sample"][0] == pytest.approx(r.phase("train").per_unit["j_per_sample"])
    samples = r.samples_frame(library)
    assert set(samples["sensor"]) == {"fake:0", "fake:cpu"}
    assert len(samples) >= 4 and list(samples.columns)[:3] == ["t_s", "device", "sensor"]
    gpu = samples.filter(lib.col("sensor") == "fake:0") if library == "polars" else \
        samples[samples["sensor"] == "fake:0"]
    assert max(gpu["energy_j"]) == pytest.approx(
        next(d.energy_j for d in r.devices if d.name == "fake:0"), rel=0.05)


def test_frames_without_the_library_name_the_pip_command(recorded, monkeypatch) -> None:
    db, r = recorded
    monkeypatch.setitem(sys.modules, "pandas", None)
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'wattprint\[pandas\]'"):
        wattprint.ledger.runs(db).to_pandas()
    with pytest.raises(MissingExtraError, match=r"pip install 'wattprint\[polars\]'"):
        r.samples_frame("polars")


def test_samples_frame_of_an_unrecorded_run_says_why() -> None:
    with wattprint.track("t", sensors=[FakeSensor(10.0)], rate_hz=50) as run:
        pass
    with pytest.raises(wattprint.UsageError, match="ledger=True"):
        run.result.samples_frame()


def test_import_wattprint_loads_no_notebook_or_frame_library() -> None:
    code = ("import sys, wattprint, wattprint.ledger, wattprint.frames, wattprint.notebook; "
            "print(sorted(m for m in ('pandas', 'polars', 'IPython', 'huggingface_hub') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- live -------------------------------------------------------------------------------------
def test_live_view_plain_text_outside_ipython() -> None:
    from wattprint.notebook import LiveView

    buf = io.StringIO()
    with wattprint.track("live", sensors=[FakeSensor(25.0)], rate_hz=50) as run:
        view = LiveView(run, every_s=0.05, file=buf, ipython=False).start()
        assert until(lambda: len(buf.getvalue().splitlines()) >= 3)  # its thread's lines
        run.count(tokens=7)
        view.stop()
    lines = buf.getvalue().splitlines()
    assert len(lines) >= 3 and all(line.startswith("wattprint live: energy") for line in lines)
    assert "count tokens 7" in lines[-1] and "[measured]" in lines[-1]


def test_live_view_updates_one_display_inside_ipython() -> None:
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from wattprint.notebook import LiveView, in_ipython

    shell = InteractiveShell.instance()
    try:
        assert in_ipython()
        with capture_output() as captured:
            with wattprint.track("nb-live", sensors=[FakeSensor(25.0)], rate_hz=50) as run:
                with LiveView(run, every_s=0.05):
                    assert until(lambda: len(captured.outputs) >= 3)  # its thread's updates
        outputs = captured.outputs
        assert len(outputs) >= 3 and "text/html" in outputs[0].data
        assert "nb-live" in outputs[0].data["text/html"]
        ids = {o.transient.get("display_id") for o in outputs}
        assert len(ids) == 1 and None not in ids  # one output, replaced in place
        assert not outputs[0].update and all(o.update for o in outputs[1:])
    finally:
        InteractiveShell.clear_instance()


def test_live_window_carries_the_last_estimate_between_sampler_updates() -> None:
    """A sensor that updates once a second (like the CPU models): two logs between two
    updates give the last power, flagged, never 0 W; the next update's energy is spread
    over the whole open window."""
    from wattprint.integrations._session import TrainingSession

    session = TrainingSession(None, name="carry", default_name="t", log_to=None,
                              write_model_card=False, model_card_dir=None,
                              training_type="fine-tuning", zone=None, pue=None, carbon=False,
                              tracker_options={"sensors": [FakeSensor(30.0, interval_s=1.0)]})
    session.begin()
    session.enter("train")
    try:
        deadline = time.monotonic() + 30
        while session.tracker.energy_j <= 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        session.live_window()  # opens a window on the first update
        carried = None
        while carried is None and time.monotonic() < deadline:
            before = session.tracker.energy_j
            session.count(steps=2)
            window = session.live_window()
            if session.tracker.energy_j == before:  # no update came in: carried
                carried = window
        assert carried is not None
        assert carried["power/carried"] == 1.0
        assert carried["power/w"] == pytest.approx(30.0, rel=0.2)
        assert carried["energy/step_j"] > 0
        # after the next update, the window is measured again
        target = session.tracker.energy_j
        while session.tracker.energy_j == target:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        fresh = session.live_window()
        assert fresh["power/carried"] == 0.0 and fresh["power/w"] == pytest.approx(30.0,
                                                                                   rel=0.3)
    finally:
        session.finish()
