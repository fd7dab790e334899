"""``wattprint bench``: steady-state detection and spread (pure), the star rating from a
fixture distribution checked by hand, and real CPU runs of a tiny randomly initialised
GPT-2 / BERT built from configs (exact token counts, J/token falling with batch size,
ledger entries, compare, the CLI and its errors).

Power here: this machine has no readable power sensor (a VM: no RAPL, no GPU), so the
runs that check physics use ``UtilisationSensor`` — a :class:`wattprint.testing.FakeSensor`
whose power is an idle floor plus a share proportional to this process's CPU utilisation
(read from psutil) — and the CLI runs use what detection finds (the modelled CPU)."""

from __future__ import annotations

import json
import math
import os

import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.benchmark import (BenchOptions, load_reference, percentile, rate, spread_of,
                                 stars_for, steady_index)
from wattprint.errors import UsageError
from wattprint.testing import FakeSensor

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "bench_reference_FIXTURE.csv")


# -- steady state and spread (pure) ------------------------------------------------------
def test_steady_state_is_the_first_window_within_tolerance() -> None:
    warmup = [5.0, 2.0, 1.3, 1.02, 1.0, 0.98, 1.01]
    assert steady_index(warmup, window=3, tolerance=0.05) == 3
    # a looser tolerance accepts the window starting at 1.3 (median 1.02: 1.3 is 27 % off)
    assert steady_index(warmup, window=3, tolerance=0.3) == 2
    assert steady_index([1.0, 1.0], window=3) is None  # not enough batches yet
    assert steady_index([1.0, 2.0, 1.0, 2.0, 1.0], window=3, tolerance=0.1) is None
    assert steady_index([0.5], window=1, tolerance=0.0) == 0
    with pytest.raises(ValueError):
        steady_index([1.0], window=0)
    with pytest.raises(ValueError):
        steady_index([1.0], tolerance=float("nan"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=1e-6, max_value=1e3), max_size=30),
       st.integers(min_value=1, max_value=5), st.floats(min_value=0.0, max_value=1.0))
def test_steady_state_is_exactly_the_first_agreeing_window(durations, window, tol) -> None:
    def agrees(part):
        m = sorted(part)
        med = m[len(m) // 2] if len(m) % 2 else 0.5 * (m[len(m) // 2 - 1] + m[len(m) // 2])
        return all(abs(x - med) <= tol * med for x in part)

    found = steady_index(durations, window=window, tolerance=tol)
    starts = [i for i in range(len(durations) - window + 1)
              if agrees(durations[i:i + window])]
    assert found == (starts[0] if starts else None)


def test_percentile_and_spread_by_hand() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    s = spread_of([2.0, 4.0, 6.0])
    assert (s.mean, s.low, s.high, s.n) == (4.0, 2.0, 6.0, 3)
    assert s.stdev == pytest.approx(2.0) and s.relative == pytest.approx(1.0)
    assert spread_of([3.0]).stdev == 0.0


# -- rating against a file (here a fixture; the shipped leaderboard: test_bench_reference) -
def test_rating_reproduces_by_hand_from_the_fixture_distribution() -> None:
    ref = load_reference(FIXTURE)
    assert "test fixture" in ref.source  # labelled: not a published distribution
    assert ref.meta["hardware"] == "NVIDIA H100"
    # text-generation: min 10, max 60 Wh per 1,000 queries -> five sections of 10 Wh
    # [10,20) 5 stars, [20,30) 4, [30,40) 3, [40,50) 2, [50,60] 1
    by_hand = {10.0: 5, 19.9: 5, 20.0: 4, 35.0: 3, 49.0: 2, 50.0: 1, 60.0: 1, 5.0: 5, 99: 1}
    for energy, stars in by_hand.items():
        assert stars_for(energy, 10.0, 60.0) == stars, energy
        r = rate(energy, "text-generation", ref, hardware="1 × NVIDIA H100 80GB HBM3",
                 gpu_energy=True, reference_data=True)
        assert r.stars == stars and r.band_wh == 10.0 and r.models == 4
    inside = rate(25.0, "text-generation", ref, hardware="1 × NVIDIA H100 80GB HBM3",
                  gpu_energy=True, reference_data=True)
    assert inside.comparable and not inside.caveats
    here = rate(25.0, "text-generation", ref, hardware="AMD EPYC (2 vCPU)",
                gpu_energy=False, reference_data=False)
    assert not here.comparable and len(here.caveats) == 3
    assert "indicative only" in here.label()
    # classification: 1..3 Wh -> sections of 0.4 Wh
    assert rate(1.5, "text-classification", ref, hardware="H100", gpu_energy=True,
                reference_data=True).stars == 4
    with pytest.raises(UsageError, match="no figures for task"):
        rate(1.0, "image-classification", ref, hardware="H100", gpu_energy=True,
             reference_data=True)


def test_bad_reference_files_are_refused(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("task,model,gpu_energy_wh_per_1k\ntext-generation,x,-3\n")
    with pytest.raises(UsageError, match="at least 0"):
        load_reference(bad)
    bad.write_text("task,energy\n")
    with pytest.raises(UsageError, match="columns"):
        load_reference(bad)
    with pytest.raises(UsageError, match="missing.csv"):
        load_reference(tmp_path / "missing.csv")


def test_options_are_checked() -> None:
    for bad, match in (({"batch_sizes": (0,)}, "--batch"), ({"repeat": 0}, "--repeat"),
                       ({"precisions": ("fp8",)}, "--precision"),
                       ({"task": "image-generation"}, "--task"),
                       ({"engine": "tgi"}, "--engine")):
        with pytest.raises(UsageError, match=match):
            BenchOptions(**bad).check()


def test_update_settings_merges_and_persists(tmp_path) -> None:
    import wattprint
    from wattprint.errors import RunNotFound
    from wattprint.ledger import Ledger

    path = str(tmp_path / "l.db")
    with wattprint.track("x", ledger=path, settings={"a": 1, "b": {"k": 1}},
                         sensors=[FakeSensor(10.0)]) as run:
        pass
    rid = run.result.run_id
    with Ledger(path) as ledger:
        after = ledger.update_settings(rid, {"b": {"k": 2}, "c": [1, 2]})
        assert after["a"] == 1 and after["b"] == {"k": 2} and after["c"] == [1, 2]
        with pytest.raises(RunNotFound):
            ledger.update_settings("nope", {"x": 1})
    with Ledger(path, readonly=True) as ledger:
        assert ledger.get(rid).settings["b"] == {"k": 2}


# -- real CPU runs -------------------------------------------------------------------------
transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")


class UtilisationSensor:
    """Power = 5 W idle + 40 W × this process's CPU utilisation since the last read."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.last = (self.proc.cpu_times(), psutil.time.monotonic())

    def __call__(self, _t: float) -> float:
        times, now = self.proc.cpu_times(), psutil.time.monotonic()
        (prev, t0), self.last = self.last, (times, now)
        busy = (times.user + times.system) - (prev.user + prev.system)
        util = min(1.0, busy / (now - t0)) if now > t0 else 0.0
        return 5.0 + 40.0 * util


def sensor() -> FakeSensor:
    return FakeSensor(UtilisationSensor(), counter=False, domain="cpu", name="util:0",
                      device="CPU (fake, utilisation-driven)")


from _tiny_bench import one_torch_thread  # noqa: E402,F401 - the fixture, used below

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def gpt2_run(tmp_path_factory):
    import _tiny_bench as tiny
    import wattprint
    from wattprint.ledger import Ledger

    folder = tmp_path_factory.mktemp("bench")
    ledger = Ledger(str(folder / "ledger.db"))
    result = wattprint.bench(tiny.gpt2(), None, None, batch_sizes=(1, 8), input_tokens=8,
                             output_tokens=6, ignore_eos=True, requests=8, repeat=2,
                             ledger=ledger, sensors=[sensor()], estimate_accelerator="H100",
                             reference=FIXTURE, steady_tolerance=0.5)
    yield result, ledger, folder
    ledger.close()


@pytest.mark.slow
def test_token_counts_are_exact_with_a_fixed_output_length(gpt2_run) -> None:
    result, _, _ = gpt2_run
    for c in result.configs:
        assert c.requests == 8 * 2  # requests per repetition × repetitions
        assert c.output_tokens == 8 * 2 * 6
        assert c.prompt_tokens == 8 * 2 * 8


@pytest.mark.slow
def test_energy_per_token_falls_with_batch_size(gpt2_run) -> None:
    # memory/overhead-bound decoding: a step costs about the same for 1 or 8 sequences
    result, _, _ = gpt2_run
    b1, b8 = result.config(1), result.config(8)
    assert b8.value("j_per_output_token") < b1.value("j_per_output_token")
    assert b8.value("tokens_per_s") > b1.value("tokens_per_s")
    for c in (b1, b8):
        for key in ("j_per_request", "j_per_output_token", "wh_per_1k_requests",
                    "mean_power_w", "latency_p50_s", "latency_p95_s"):
            v = c.value(key)
            assert v is not None and math.isfinite(v) and v > 0, key
        assert c.figures["j_per_request"].basis == "measured"  # the fake says measured
        assert c.figures["latency_p50_s"].basis == "timed"
        assert c.figures["j_per_request"].spread.n == 2
        assert c.value("latency_p95_s") >= c.value("latency_p50_s")
        assert c.value("wh_per_1k_requests") == pytest.approx(
            c.value("j_per_request") * 1000 / 3600)


@pytest.mark.slow
def test_steady_state_is_found_and_recorded(gpt2_run) -> None:
    result, _, _ = gpt2_run
    for c in result.configs:
        w = c.warmup
        assert w["steady"] and w["steady_at"] is not None
        window = w["durations_s"][w["steady_at"]:w["steady_at"] + w["window"]]
        median = sorted(window)[len(window) // 2]
        assert all(abs(x - median) <= w["tolerance"] * median for x in window)
        assert w["batches"] == w["steady_at"] + w["window"]  # stops at the steady window


@pytest.mark.slow
def test_prediction_gap_and_rating(gpt2_run) -> None:
    result, _, _ = gpt2_run
    for c in result.configs:
        p = c.prediction
        assert p["accelerator"] and p["j_per_output_token"] > 0
        assert p["gap"] == pytest.approx(
            (p["measured_j_per_output_token"] - p["j_per_output_token"])
            / p["j_per_output_token"])
        r = c.rating
        assert r and not r["comparable"]  # not an H100, no GPU energy, not its dataset
        assert r["stars"] == stars_for(c.value("wh_per_1k_requests"), 10.0, 60.0)
        assert c.overhead["fraction"] < 0.5  # sanity only; the ≤1 % figure is in bench/


@pytest.mark.slow
def test_each_configuration_is_a_bench_run_in_the_ledger(gpt2_run) -> None:
    result, ledger, _ = gpt2_run
    runs = ledger.runs(tags=["bench", f"bench-session:{result.session}"])
    assert sorted(r.id for r in runs) == sorted(c.run_id for c in result.configs)
    for c in result.configs:
        rec = ledger.get(c.run_id)
        assert rec.settings["kind"] == "bench"
        stored = rec.settings["bench"]
        assert stored["batch_size"] == c.batch_size
        assert stored["figures"]["j_per_output_token"]["value"] == pytest.approx(
            c.value("j_per_output_token"))
        names = [p.name for p in rec.phases]
        assert names[0] == "warmup" and names[1:] == ["rep1", "rep2"]
        reps = [p for p in rec.phases if p.name.startswith("rep")]
        assert sum(p.counters["tokens"] for p in reps) == c.output_tokens
        assert sum(p.energy_j for p in reps) / c.output_tokens == pytest.approx(
            c.value("j_per_output_token"), rel=0.5)  # mean of ratios vs ratio of sums


@pytest.mark.slow
def test_counts_stop_at_the_first_end_of_sequence() -> None:
    import _tiny_bench as tiny
    import wattprint

    model = tiny.gpt2()
    prompts = [[5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
    with torch.inference_mode():
        free = model.generate(torch.tensor(prompts), max_new_tokens=8, do_sample=False,
                              min_new_tokens=8, pad_token_id=0)[:, 4:].tolist()
    eos = free[0][2]  # greedy row 0 emits this id third: make it the end of sequence
    expected = sum(row.index(eos) + 1 if eos in row else 8 for row in free)
    assert expected < 3 * 8
    model.generation_config.eos_token_id = eos
    model.config.eos_token_id = eos
    result = wattprint.bench(model, None, prompts, batch_sizes=(3,), output_tokens=8,
                             requests=3, repeat=1, sensors=[sensor()], warmup_max_batches=1,
                             steady_window=1)
    assert result.configs[0].output_tokens == expected
    assert result.configs[0].prompt_tokens == 12


@pytest.mark.slow
def test_no_steady_state_is_said(tmp_path) -> None:
    import _tiny_bench as tiny
    import wattprint

    result = wattprint.bench(tiny.gpt2(), None, None, batch_sizes=(2,), output_tokens=2,
                             requests=2, repeat=1, sensors=[sensor()], warmup_max_batches=3,
                             steady_tolerance=1e-12)
    c = result.configs[0]
    assert not c.warmup["steady"] and c.warmup["batches"] == 3
    assert any("steady state not reached" in n for n in c.notes)
    # rated against the shipped AI Energy Score leaderboard by default: a tiny GPT-2 is in
    # class A; on a CPU, without GPU energy, at batch 2 it can only be indicative
    r = c.rating
    assert r["size_class"] == "A" and "February 2025" in r["source"] and not r["comparable"]
    assert "batch size 2, the reference's is 1 (larger batches use less energy per query)" \
        in r["caveats"]
    assert "rating" in result.summary()


@pytest.mark.slow
def test_text_classification_counts_requests(tmp_path) -> None:
    import _tiny_bench as tiny
    import wattprint

    result = wattprint.bench(tiny.bert(), tiny.tokenizer(), ["w3 w4 w5", "w6 w7"] * 2,
                             task="text-classification", batch_sizes=(2,), requests=4,
                             repeat=2, sensors=[sensor()])
    c = result.configs[0]
    assert c.requests == 8 and c.output_tokens == 0 and c.prompt_tokens == 2 * (3 + 2) * 2
    assert c.value("j_per_output_token") is None and c.value("j_per_request") > 0
    assert "text generation only" in c.prediction["reason"]


# -- the command line, compare and the HTML report in Chromium ---------------------------
@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    import _tiny_bench as tiny

    folder = tmp_path_factory.mktemp("bench-cli")
    env, model, data = tiny.bench_cli(folder, "--batch", "1,4", "--input-tokens", "6",
                                      "--output-tokens", "4", "--ignore-eos", "--requests",
                                      "4", "--repeat", "2", "--estimate-accelerator", "H100")
    return folder, env, model, data


@pytest.mark.slow
def test_cli_bench_records_runs_and_compare_shows_them(cli_runs) -> None:
    from _cli import wp

    folder, env, _, data = cli_runs
    configs = data["configs"]
    assert [c["batch_size"] for c in configs] == [1, 4]
    for c in configs:
        assert c["output_tokens"] == 4 * 2 * 4 and c["requests"] == 8
        assert c["energy_basis"] == "modelled"  # no power sensor on this VM: the CPU model
        assert c["figures"]["j_per_output_token"]["basis"] == "modelled"
        assert c["prediction"]["gap"] is not None
        assert c["rating"]["size_class"] == "A"  # default reference: AI Energy Score 2025-02
        assert "AI Energy Score leaderboard, February 2025" in c["rating"]["source"]
    assert [any("batch size" in x for x in c["rating"]["caveats"]) for c in configs] == \
        [False, True]
    a, b = (c["run_id"] for c in configs)
    proc = wp(folder, "compare", a, b, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "bench J/output token (J, modelled)" in proc.stdout
    assert "bench gap measured vs predicted" in proc.stdout
    runs = json.loads(wp(folder, "runs", "--tag", "bench", "--json", env=env).stdout)
    assert {r["id"] for r in runs} >= {a, b}


@pytest.mark.slow
def test_cli_bench_text_output_and_dataset(cli_runs, tmp_path) -> None:
    from _cli import wp

    folder, env, model, _ = cli_runs
    data = tmp_path / "prompts.jsonl"
    data.write_text('{"prompt": "w3 w4 w5"}\n{"text": "w9 w8"}\n')
    proc = wp(folder, "bench", model, "--batch", "2", "--dataset", str(data),
              "--output-tokens", "2", "--requests", "2", "--repeat", "1", "--no-ledger",
              "--reference", FIXTURE, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "J/output token (J)" in out and "modelled" in out and "timed" in out
    assert "rating (AI Energy Score method): fp32 b2 " in out and "indicative only" in out
    assert "rating caveat: not the task's reference dataset" in out
    assert "no accelerator to predict for" in out  # CPU only, no --estimate-accelerator


@pytest.mark.slow
def test_cli_bench_bad_input_is_one_clear_line(cli_runs, tmp_path) -> None:
    from _cli import assert_clean_error, wp

    folder, env, model, _ = cli_runs
    assert_clean_error(wp(folder, "bench", model, "--batch", "0,x", env=env), "--batch")
    assert_clean_error(wp(folder, "bench", str(tmp_path), env=env), "config.json")
    assert_clean_error(wp(folder, "bench", model, "--precision", "fp8", env=env),
                       "--precision")
    for engine in ("vllm", "sglang"):
        proc = wp(folder, "bench", model, "--engine", engine, env=env)
        assert_clean_error(proc, f"--engine {engine}")
        assert "not installed" in proc.stderr or "no GPU" in proc.stderr
    assert_clean_error(wp(folder, "bench", model, "--reference", str(tmp_path / "x.csv"),
                          env=env), "x.csv")


@pytest.mark.slow
def test_report_draws_energy_per_token_against_batch_size_in_chromium(cli_runs) -> None:
    from _cli import wp
    from test_report_html import dump_dom, parse

    folder, env, _, data = cli_runs
    ids = [c["run_id"] for c in data["configs"]]
    out = folder / "bench.html"
    proc = wp(folder, "report", *ids, "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    dom_text = dump_dom(str(out))
    dom = parse(dom_text)
    chart = dom.charts["bench-energy-per-token"]
    lines = dict(chart["lines"])
    assert lines["tiny-gpt2 fp32 (measured)"] == 2  # one point per batch size
    assert lines["tiny-gpt2 fp32 (estimator)"] == 2
    assert "configurations side by side" in dom_text
    assert dom_text.count("data-gap=") == 2
    single = folder / "one.html"
    assert wp(folder, "report", ids[0], "-o", str(single), env=env).returncode == 0
    assert "bench-energy-per-token" in parse(dump_dom(str(single))).charts


def test_parameter_count_from_the_saved_config_matches_the_loaded_model(tmp_path) -> None:
    # vLLM and SGLang load the model themselves: the count (for the rating's size class and
    # the prediction) comes from config.json on the meta device, with no weights loaded
    import _tiny_bench as tiny

    from wattprint.benchmark._core import _count_params, params_from_config

    for build, task in ((tiny.gpt2, "text-generation"), (tiny.bert, "text-classification")):
        model = build()
        folder = tiny.save(model, tmp_path / task)
        assert params_from_config(folder, task) == _count_params(model) > 0
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text('{"model_type": "no-such-arch"}')
    assert params_from_config(str(tmp_path / "broken"), "text-generation") is None
