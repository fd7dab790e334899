"""``wattprint bench`` across configurations and options: precision A vs B (each cast from
the original weights, side by side in ``wattprint compare`` and the HTML report), mean
power per device (two fake GPUs at known powers), and the CLI's ``--idle-s``,
``--warmup-max-s`` and ``--task text-classification``. Real tiny GPT-2 / BERT models
built from configs (tests/_tiny_bench.py), on CPU; fakes only for the absent GPUs."""

from __future__ import annotations

import json
import math
import re

import pytest

from wattprint.testing import FakeSensor

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")


from _tiny_bench import one_torch_thread  # noqa: E402,F401 - the fixture, used below

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- precision A vs B ----------------------------------------------------------------------
@pytest.mark.slow
def test_each_precision_runs_cast_from_the_original_weights() -> None:
    """bf16 first, then fp32: the fp32 passes must run on the model's own fp32 weights,
    not on bf16-rounded weights widened back (what casting in place gave)."""
    import _tiny_bench as tiny
    import wattprint

    model = tiny.gpt2()
    original = {n: p.detach().clone() for n, p in model.named_parameters()}
    head = model.lm_head.weight.detach().clone()  # tied to transformer.wte.weight
    seen: list[tuple[torch.dtype, torch.dtype, bool]] = []

    def record(module, _inputs, output):
        w = module.weight
        seen.append((output.dtype, w.dtype, torch.equal(w, head.to(w.dtype))))

    hook = model.lm_head.register_forward_hook(record)
    try:
        result = wattprint.bench(model, None, None, batch_sizes=(2,), input_tokens=4,
                                 output_tokens=3, ignore_eos=True, requests=2, repeat=1,
                                 precisions=("bf16", "fp32"), sensors=[FakeSensor(10.0)],
                                 warmup_max_batches=1, steady_window=1)
    finally:
        hook.remove()
    assert [(c.precision, c.dtype) for c in result.configs] == [("bf16", "bfloat16"),
                                                                ("fp32", "float32")]
    # every forward pass of the bf16 configuration, then every one of the fp32 one
    n_bf16 = sum(1 for out, _, _ in seen if out == torch.bfloat16)
    assert n_bf16 > 0 and len(seen) > n_bf16
    assert all(out == w == torch.bfloat16 for out, w, _ in seen[:n_bf16])
    assert all(out == w == torch.float32 for out, w, _ in seen[n_bf16:])
    assert all(exact for _, _, exact in seen)  # fp32 passes: the original weights exactly
    for c in result.configs:
        assert c.output_tokens == 2 * 1 * 3 and c.prompt_tokens == 2 * 1 * 4
    # the caller's model is left with its own weights, dtype and tying
    assert all(torch.equal(p, original[n]) for n, p in model.named_parameters())
    assert model.lm_head.weight is model.transformer.wte.weight


@pytest.fixture(scope="module")
def two_precisions(tmp_path_factory):
    import _tiny_bench as tiny

    folder = tmp_path_factory.mktemp("bench-precision")
    env, _, data = tiny.bench_cli(folder, "--precision", "fp32,bf16", "--batch", "2",
                                  "--input-tokens", "4", "--output-tokens", "3", "--ignore-eos",
                                  "--requests", "4", "--repeat", "2", "--idle-s", "0.25")
    return folder, env, data


@pytest.mark.slow
def test_cli_two_precisions_are_two_configurations_with_exact_counts(two_precisions) -> None:
    _, _, data = two_precisions
    configs = data["configs"]
    assert [(c["precision"], c["dtype"], c["batch_size"]) for c in configs] == [
        ("fp32", "float32", 2), ("bf16", "bfloat16", 2)]
    for c in configs:
        assert c["requests"] == 4 * 2
        assert c["output_tokens"] == 4 * 2 * 3  # requests × repetitions × --output-tokens
        assert c["prompt_tokens"] == 4 * 2 * 4
        assert c["figures"]["j_per_output_token"]["value"] > 0


@pytest.mark.slow
def test_compare_and_report_put_the_precisions_side_by_side(two_precisions) -> None:
    from _cli import wp
    from test_report_html import parse

    folder, env, data = two_precisions
    a, b = (c["run_id"] for c in data["configs"])
    proc = wp(folder, "compare", a, b, env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[1]: line.split()[2:] for line in proc.stdout.splitlines()
            if line.startswith("bench ")}
    assert rows["precision"] == ["fp32", "bf16"]
    assert rows["dtype"] == ["float32", "bfloat16"]
    assert "bench J/output token (J, modelled)" in proc.stdout
    out = folder / "precision.html"
    proc = wp(folder, "report", a, b, "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    section = html[html.index("Benchmark: configurations side by side"):]
    assert "fp32 · batch 2<br><small>weights float32" in section
    assert "bf16 · batch 2<br><small>weights bfloat16" in section
    lines = dict(parse(html).charts["bench-energy-per-token"]["lines"])
    assert lines["tiny-gpt2 fp32 (measured)"] == 1 and lines["tiny-gpt2 bf16 (measured)"] == 1


# -- mean power per device ---------------------------------------------------------------
@pytest.mark.slow
def test_mean_power_per_device_with_two_fake_gpus() -> None:
    import _tiny_bench as tiny
    import wattprint
    from wattprint.sensors._nvml import open_nvml_sensors
    from wattprint.testing.fake_nvml import FakeGPU, RealTimeNVML

    # fake time follows the real clock at every call: a window's energy is its power
    # times its real duration, to within the microseconds between the boundary's clock
    # read and each GPU's counter read (a busy machine makes them longer: 1 %)
    fake = RealTimeNVML([FakeGPU(power_w=300.0), FakeGPU(power_w=120.0)], resolution_s=0.0)
    # a run closes its sensors (NVML's handles): a function opens them per configuration
    result = wattprint.bench(tiny.gpt2(), None, None, batch_sizes=(1, 2), input_tokens=4,
                             output_tokens=4, ignore_eos=True, requests=8, repeat=2,
                             sensors=lambda: open_nvml_sensors(nvml=fake, visible_devices=None),
                             mode="machine", warmup_max_batches=2, steady_window=1)
    assert len(result.configs) == 2
    for c in result.configs:
        _two_gpus(c)
    summary = result.summary()
    assert "mean power gpu nvml:0 (W)" in summary and "mean power gpu nvml:1 (W)" in summary


@pytest.mark.slow
def test_sensors_given_as_a_list_measure_every_configuration_then_are_closed() -> None:
    """A plain list of NVML sensors (no function): every configuration reads both GPUs at
    their powers (before, each run closed NVML's handles and later configurations read
    0 W), and the benchmark closes them when it ends."""
    import _tiny_bench as tiny
    import wattprint
    from wattprint.sensors._nvml import open_nvml_sensors
    from wattprint.testing.fake_nvml import FakeGPU, RealTimeNVML

    fake = RealTimeNVML([FakeGPU(power_w=300.0), FakeGPU(power_w=120.0)], resolution_s=0.0)
    sensors = open_nvml_sensors(nvml=fake, visible_devices=None)
    result = wattprint.bench(tiny.gpt2(), None, None, batch_sizes=(1, 2), input_tokens=4,
                             output_tokens=4, ignore_eos=True, requests=8, repeat=2,
                             sensors=sensors, mode="machine", warmup_max_batches=2,
                             steady_window=1)
    assert len(result.configs) == 2
    for c in result.configs:
        _two_gpus(c)
    assert all(s.released for s in sensors)


def _two_gpus(c) -> None:
    gpus = c.power_by_device_w
    assert sorted(gpus) == ["nvml:0", "nvml:1"]
    for name, watts, index in (("nvml:0", 300.0, 0), ("nvml:1", 120.0, 1)):
        d = gpus[name]
        assert d.domain == "gpu" and d.power.basis == "measured" and d.power.unit == "W"
        assert f"GPU {index}, UUID GPU-" in d.device
        assert d.power.value == pytest.approx(watts, rel=0.01)
        assert d.power.spread.n == 2
    assert gpus["nvml:0"].power.value / gpus["nvml:1"].power.value == pytest.approx(2.5,
                                                                                    rel=0.01)
    assert c.power_by_domain_w == {"gpu": pytest.approx(gpus["nvml:0"].power.value
                                                        + gpus["nvml:1"].power.value,
                                                        rel=1e-12)}
    assert c.value("mean_power_w") == pytest.approx(c.power_by_domain_w["gpu"], rel=1e-12)
    stored = c.to_dict()["power_by_device_w"]
    assert stored["nvml:1"]["value"] == gpus["nvml:1"].power.value
    assert stored["nvml:1"]["basis"] == "measured" and stored["nvml:1"]["domain"] == "gpu"


@pytest.mark.slow
def test_cli_json_text_compare_and_report_show_power_per_device(two_precisions) -> None:
    from _cli import wp

    folder, env, data = two_precisions
    for c in data["configs"]:
        devices = c["power_by_device_w"]
        assert devices and all(d["basis"] == "modelled" for d in devices.values())
        by_domain: dict[str, float] = {}
        for d in devices.values():
            by_domain[d["domain"]] = by_domain.get(d["domain"], 0.0) + d["value"]
        assert c["power_by_domain_w"] == pytest.approx(by_domain)
        assert sum(by_domain.values()) == pytest.approx(c["figures"]["mean_power_w"]["value"])
    name, first = next(iter(data["configs"][0]["power_by_device_w"].items()))
    a, b = (c["run_id"] for c in data["configs"])
    proc = wp(folder, "compare", a, b, env=env)
    assert f"bench mean power {first['domain']} {name} (W, modelled)" in proc.stdout
    out = folder / "devices.html"
    assert wp(folder, "report", a, b, "-o", str(out), env=env).returncode == 0
    html = out.read_text()
    assert html.count('<tr class="device-power">') == len(data["configs"][0]
                                                          ["power_by_device_w"])
    assert f"mean power {first['domain']} {name} (W)" in html


# -- options: --idle-s, --warmup-max-s, --task text-classification ------------------------
@pytest.mark.slow
def test_cli_idle_s_measures_an_idle_phase_first(two_precisions) -> None:
    from wattprint.ledger import Ledger

    folder, _, data = two_precisions
    with Ledger(str(folder / "ledger.db"), readonly=True) as ledger:
        for c in data["configs"]:
            phases = ledger.get(c["run_id"]).phases
            assert [p.name for p in phases] == ["idle", "warmup", "rep1", "rep2"]
            idle = phases[0]
            assert idle.duration_s >= 0.25 and not idle.counters  # no work counted in it
            assert c["figures"]["idle_power_w"]["value"] == pytest.approx(
                idle.energy_j / idle.duration_s)
            assert c["figures"]["idle_power_w"]["basis"] == "modelled"


@pytest.mark.slow
def test_cli_warmup_max_s_ends_the_warmup_and_says_so(tmp_path) -> None:
    import _tiny_bench as tiny
    from _cli import cli_env, wp

    model = tiny.save(tiny.gpt2(), tmp_path / "tiny-gpt2")
    env = cli_env(tmp_path, OMP_NUM_THREADS="1")
    # the steady state needs 3 batches at least and the batch limit is 20: one batch
    # means the time limit ended the warm-up
    proc = wp(tmp_path, "bench", model, "--batch", "1,2", "--input-tokens", "4",
              "--output-tokens", "2", "--requests", "2", "--repeat", "1",
              "--warmup-max-s", "0.001", "--no-ledger", env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for size in (1, 2):
        assert (f"note: fp32 b{size}: steady state not reached in 1 warm-up batches (at most "
                "20 batches or 0.001 s)") in proc.stdout
    # the text table: a row per device under the mean power (this machine's CPU, modelled)
    assert re.search(r"^  mean power (cpu|ram|gpu) \S+ \(W\) +(measured|modelled) ",
                     proc.stdout, re.MULTILINE), proc.stdout
    steady = next(line for line in proc.stdout.splitlines() if line.startswith("steady"))
    assert steady.split() == ["steady", "state", "NOT", "reached", "NOT", "reached"]


@pytest.mark.slow
def test_cli_text_classification_serves_a_classifier(tmp_path) -> None:
    import _tiny_bench as tiny
    from _cli import cli_env, wp

    model = tiny.save(tiny.bert(), tmp_path / "tiny-bert")
    env = cli_env(tmp_path, OMP_NUM_THREADS="1")
    # enough requests that a repetition lasts longer than the CPU model's resolution
    proc = wp(tmp_path, "bench", model, "--task", "text-classification", "--batch", "2",
              "--input-tokens", "5", "--requests", "400", "--repeat", "2", "--json",
              env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    [c] = json.loads(proc.stdout)["configs"]
    assert c["task"] == "text-classification"
    # a forward pass per batch, nothing generated (a causal LM would have generated)
    assert c["requests"] == 400 * 2 and c["output_tokens"] == 0
    assert c["prompt_tokens"] == 400 * 2 * 5
    figs = c["figures"]
    assert figs["j_per_output_token"]["value"] is None and figs["tokens_per_s"]["value"] is None
    assert figs["j_per_request"]["value"] > 0 and figs["j_per_request"]["basis"] == "modelled"
    assert math.isfinite(figs["requests_per_s"]["value"])
    assert "text generation only" in c["prediction"]["reason"]
    assert c["rating"]["task"] == "text-classification" and not c["rating"]["size_class"]
    text = wp(tmp_path, "bench", model, "--task", "text-classification", "--batch", "2",
              "--input-tokens", "5", "--requests", "2", "--repeat", "1", "--no-ledger",
              env=env, timeout=300)
    assert text.returncode == 0, text.stderr
    assert "text-classification" in text.stdout.splitlines()[0]
    assert "J/request (J)" in text.stdout and "J/output token (J)" not in text.stdout
