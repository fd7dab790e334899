"""Property: whatever number reaches a public entry point — NaN, ±infinity, a negative, a
huge or a tiny value, an integer too large for a float — the answer is either a clean error
(``UsageError``/``ConfigError``; exit status 2 with one ``wattprint: error:`` line and no
traceback at the command line) or figures that are all finite and non-negative, with no
'nan', 'inf', runaway digits or exponent notation in text for people (machine outputs —
JSON, CSV — keep raw numbers, never nan or inf). Covered: the rules, the Python API, the
tracker, environment variables, ``estimate``/``equiv``/``check``, ``wattprint run``'s
budget, price and grace flags, ``export --every`` and the report flags in every format.

The command line runs in-process through ``wattprint.cli.main`` (the same code as the
``wattprint`` command; tests/test_validation.py runs it as a subprocess) to keep this file
well under a minute.
"""

from __future__ import annotations

import io
import math
import re
from contextlib import redirect_stderr, redirect_stdout
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import wattprint
from wattprint import inputs
from wattprint.accounting import (account, annual_intensity, embodied_co2e_g,
                                  market_intensity)
from wattprint.accounting.equivalents import equivalents
from wattprint.errors import ConfigError, UsageError
from wattprint.estimate import (check_claim, estimate_inference, estimate_training,
                                project_fleet)
from wattprint.testing import FakeSensor

#: NaN, infinities, negatives, zero, tiny and huge floats, integers past a float's range.
BAD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**400, -(10**400), 2**1024, 5e-324, 1.7976931348623157e308]),
)
SPECIALS = (math.nan, math.inf, -math.inf, -1.0, 0.0, 1e-300, 1e300, 10**400, -(10**400),
            5e-324,  # the smallest float: --every 5e-324 overflowed the time buckets
            1e-5)  # small but legal where a rule allows it: "1e-05" in a text is a fault
#: Keys whose values may legitimately be negative (a shrinking fleet).
SIGNED = {"scenario_growth"}
#: What human text must never show: nan/inf, a runaway number, or exponent notation in any
#: size (Python writes "1e-05", "2.5e+40": a sign and two digits at least; ids and colours
#: such as "#2e4057" or "01j3e45..." are not numbers and do not match).
TEXT_FAULT = re.compile(r"\b(nan|inf|infinity)\b|\d[\d,]{39,}"
                        r"|(?<![\w#.])\d+(?:\.\d+)?e[+-]\d{2,}\b", re.I)


#: What an error or warning line must not show once the value as the user typed it and the
#: examples of what to type ("(e.g. compute_flop=3.14e23)", "e.g. '5e9 J'") are left out:
#: exponent notation, signed or not ("between 1e-09 and 1e16" was the bounds' old style),
#: or a runaway number. A "nan" there is the user's own value, named back.
MESSAGE_FAULT = re.compile(r"(?<![\w#.])\d+(?:\.\d+)?e[+-]?\d+\b|\d[\d,]{29,}", re.I)


@pytest.mark.parametrize("text, fault", [
    ("TDP 1e-05 W", True), ("2.5e+40 J", True), ("1.9E+02× the estimate", True),
    ("-1e-05 W", True), ("6.99e+03 tokens", True), ("nan W", True), ("inf kWh", True),
    ("1" * 40, True),
    ("TDP 0.00001 W", False), ("3.14 × 10²³ FLOP", False), ("1,234.50 EUR", False),
    ("fill:#2e4057", False), ("run 01j3e45aa0", False), ("nanoseconds", False),
    ("info", False), ("v1.2e-05", False), ("a 1e5 typed by hand", False),
])
def test_text_fault_flags_exponent_notation_of_any_size_and_nothing_legit(text, fault):
    assert bool(TEXT_FAULT.search(text)) is fault


@pytest.mark.parametrize("text, typed, fault", [
    ("--pue 1e-05: PUE must be a finite number between 1.0 and 3.0", "", True),
    ("claim: a claimed figure must be between 1e-09 and 1e16 kWh", "", True),
    ("at most 1e32 FLOP", "", True), ("ENERGY 2.5E+40J: at most 1e22 J", "2.5E+40J", True),
    ("--hours 4.94066e-324: a duration", "5e-324", True),
    ("between 10⁻⁹ and 10¹⁶ kWh", "", False),
    ("--per-request 1e-300Wh: an energy", "1e-300Wh", False),
    ("pue=nan: PUE must be (e.g. pue=1.2)", "", False),
    ("compute_flop=10⁴⁰: must be up to 10³² FLOP (e.g. compute_flop=3.14e23)", "", False),
])
def test_message_fault_flags_exponent_notation_but_not_the_users_own_value(text, typed,
                                                                           fault):
    assert bool(message_fault(text, typed)) is fault


def message_fault(text: str, *typed: str) -> str | None:
    """The exponent notation (or runaway number) in an error or warning line that wattprint
    wrote, not the user: ``typed`` (what they typed, echoed as is) and the examples of what
    to type ("e.g. ..." to the closing parenthesis or the end of the line) are left out."""
    for token in sorted(filter(None, typed), key=len, reverse=True):
        text = text.replace(token, "<typed>")
    text = re.sub(r"\be\.g\. [^)\n]*", "e.g. ...", text)
    fault = MESSAGE_FAULT.search(text)
    return None if fault is None else text


def specials(**other: Any) -> Callable[[Callable], Callable]:
    """Always try each of SPECIALS as ``x`` (with ``other`` fixed), then random values."""
    def decorate(test: Callable) -> Callable:
        for value in SPECIALS:
            test = example(x=value, **other)(test)
        return test
    return decorate


def assert_clean_figures(obj: Any, key: str = "", typed: tuple[str, ...] = ()) -> None:
    """Every number in a result (to_dict() form) finite and non-negative; no 'nan'/'inf'
    or runaway numbers in its text, but in ``typed`` (what the user gave, quoted back as
    they typed it: a claim of "1.18e-12 MWh")."""
    if isinstance(obj, bool) or obj is None:
        return
    if isinstance(obj, (int, float)):
        assert math.isfinite(obj), (key, obj)
        assert obj >= 0 or key in SIGNED, (key, obj)
    elif isinstance(obj, str):
        text = obj
        for t in typed:
            text = text.replace(t, "")
        assert not TEXT_FAULT.search(text), (key, obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            assert_clean_figures(v, key if key in SIGNED else str(k), typed)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            assert_clean_figures(v, key, typed)
    elif hasattr(obj, "to_dict"):
        assert_clean_figures(obj.to_dict(), key, typed)
    else:
        raise AssertionError(f"unexpected value {obj!r} under {key!r}")


def assert_clean_error(err: BaseException, *typed: str) -> None:
    """One short line, no runaway number, no exponent notation but in ``typed`` (a value
    the user gave as a string, echoed as they typed it)."""
    text = str(err)
    assert isinstance(err, (UsageError, ConfigError)), repr(err)
    assert "\n" not in text and len(text) < 400, text
    assert not re.search(r"\d{30}", text), text
    assert not message_fault(text, *typed), text


def api(call: Callable[[], Any], *typed: str) -> None:
    try:
        result = call()
    except (UsageError, ConfigError) as err:
        assert_clean_error(err, *typed)
        return
    assert_clean_figures(result, typed=typed)
    if hasattr(result, "summary"):
        text = result.summary()
        for t in typed:
            text = text.replace(t, "")
        assert not TEXT_FAULT.search(text), result.summary()


def typed(x: Any) -> str:
    """``x`` as a person types it into a claim (the claim is quoted back): plain decimals
    for an ordinary finite float, Python's repr otherwise (nan, inf, 1e+300)."""
    if isinstance(x, float) and math.isfinite(x) and 1e-9 <= abs(x) < 1e15:
        return f"{x:.9f}".rstrip("0").rstrip(".")
    return repr(x)


# -- the rules themselves ---------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from(sorted(inputs.RULES)), x=BAD,
       name=st.sampled_from(["--flag", "keyword"]))
def test_every_rule_returns_a_value_inside_its_range_or_refuses_in_one_line(rule, x, name):
    b = inputs.RULES[rule]
    try:
        value = inputs.check(rule, name, x)
    except UsageError as err:
        assert_clean_error(err)
        text = str(err)
        assert text.startswith(f"{name} " if name.startswith("-") else f"{name}=")
        assert b.what in text and "(e.g. " in text
        return
    assert math.isfinite(value) and b.low <= value <= b.high
    assert not (b.low_open and value == b.low)
    assert not b.integer or isinstance(value, int)


# -- the Python API ---------------------------------------------------------------------------
H100 = dict(accelerator="H100", n_accelerators=8)
API_CASES: dict[str, Callable[[Any], Any]] = {
    "account(energy_j)": lambda x: account(x, zone="DE"),
    "account(pue)": lambda x: account(3.6e9, zone="DE", pue=x),
    "account(price_per_kwh)": lambda x: account(3.6e9, zone="DE", price_per_kwh=x),
    "account(renewable_share)": lambda x: account(3.6e9, zone="DE", renewable_share=x),
    "account(market_factor)": lambda x: account(3.6e9, zone="DE", market_factor_g_per_kwh=x),
    "account(wue)": lambda x: account(3.6e9, zone="DE", wue_l_per_kwh=x),
    "account(water)": lambda x: account(3.6e9, zone="DE", water_l_per_kwh=x),
    "account(duration_s)": lambda x: account(3.6e9, zone="DE", duration_s=x,
                                             devices={"gpu": 8}),
    "account(lifetime)": lambda x: account(3.6e9, zone="DE", duration_s=3600,
                                           devices={"gpu": 8}, lifetime_years=x),
    "account(devices)": lambda x: account(3.6e9, zone="DE", duration_s=3600,
                                          devices={"gpu": x}),
    "account(embodied)": lambda x: account(3.6e9, zone="DE", duration_s=3600,
                                           embodied_kgco2e=x),
    "embodied_co2e_g(reserved_s)": lambda x: embodied_co2e_g({"gpu": 8}, x),
    "embodied_co2e_g(devices)": lambda x: embodied_co2e_g({"gpu": x}, 3600.0),
    "market_intensity(factor)": lambda x: market_intensity(
        annual_intensity("DE"), factor_g_per_kwh=x),
    "market_intensity(share)": lambda x: market_intensity(
        annual_intensity("DE"), renewable_share=x),
    "equivalents(energy_j)": lambda x: equivalents(x),
    "equivalents(co2e_g)": lambda x: equivalents(3.6e9, co2e_g=x),
    "train(duration)": lambda x: estimate_training(**H100, duration=x),
    "train(n_accelerators)": lambda x: estimate_training(accelerator="H100", n_accelerators=x,
                                                         duration="3d"),
    "train(accelerator_hours)": lambda x: estimate_training(accelerator="H100",
                                                            accelerator_hours=x),
    "train(params)": lambda x: estimate_training(**H100, params=x, tokens="1T"),
    "train(tokens)": lambda x: estimate_training(**H100, params="7B", tokens=x),
    "train(compute_flop)": lambda x: estimate_training(**H100, compute_flop=x),
    "train(mfu)": lambda x: estimate_training(**H100, params="7B", tokens="1T", mfu=x),
    "train(tdp_w)": lambda x: estimate_training(**H100, duration="3d", tdp_w=x),
    # from compute, a TDP below the part's is a cap that also sets the speed
    "train(tdp_w, compute)": lambda x: estimate_training(**H100, params="7B", tokens="1T",
                                                         tdp_w=x),
    "train(peak_tflops)": lambda x: estimate_training(**H100, params="7B", tokens="1T",
                                                      peak_tflops=x),
    "train(accelerator_power_w)": lambda x: estimate_training(**H100, duration="3d",
                                                              accelerator_power_w=x),
    "train(it_power_w)": lambda x: estimate_training(**H100, duration="3d", it_power_w=x),
    "train(host_power_w)": lambda x: estimate_training(**H100, duration="3d",
                                                       host_power_w=x),
    "train(pue)": lambda x: estimate_training(**H100, duration="3d", pue=x),
    "train(intensity)": lambda x: estimate_training(**H100, duration="3d",
                                                    intensity_g_per_kwh=x),
    "train(price)": lambda x: estimate_training(**H100, duration="3d", price_per_kwh=x),
    "train(wue)": lambda x: estimate_training(**H100, duration="3d", wue_l_per_kwh=x),
    "infer(params)": lambda x: estimate_inference(params=x),
    "infer(batch_size)": lambda x: estimate_inference(params="8B", batch_size=x),
    "infer(max_batch_size)": lambda x: estimate_inference(params="8B", max_batch_size=x),
    "infer(input_tokens)": lambda x: estimate_inference(params="8B", input_tokens=x),
    "infer(output_tokens)": lambda x: estimate_inference(params="8B", output_tokens=x),
    "infer(n_accelerators)": lambda x: estimate_inference(params="8B", n_accelerators=x),
    "infer(idle)": lambda x: estimate_inference(params="8B", idle_accelerators=x),
    "infer(bandwidth)": lambda x: estimate_inference(params="8B", memory_bandwidth_tb_s=x),
    "infer(power)": lambda x: estimate_inference(params="8B", accelerator_power_w=x),
    "infer(kv_bytes)": lambda x: estimate_inference(params="8B", kv_bytes_per_token=x),
    "infer(n_layers)": lambda x: estimate_inference(params="8B", n_layers=x),
    "infer(pue)": lambda x: estimate_inference(params="8B", pue=x),
    "fleet(requests_per_day)": lambda x: project_fleet(requests_per_day=x,
                                                       per_request="0.3Wh"),
    "fleet(per_request)": lambda x: project_fleet(requests_per_day="1B", per_request=x),
    "fleet(years)": lambda x: project_fleet(requests_per_day="1B", per_request=0.3, years=x),
    "fleet(growth)": lambda x: project_fleet(requests_per_day="1B", per_request=0.3,
                                             growth=x),
    "fleet(intensity)": lambda x: project_fleet(requests_per_day="1B", per_request=0.3,
                                                intensity_g_per_kwh=x),
    "check_claim(duration)": lambda x: check_claim("1 GWh", **H100, duration=x),
    "check_claim(claim)": lambda x: check_claim(f"{typed(x)} MWh", **H100, duration="3d"),
}


@pytest.mark.parametrize("case", sorted(API_CASES))
@settings(max_examples=25, deadline=None)
@given(x=BAD)
@specials()
def test_api_entry_points_refuse_or_give_finite_figures(case, x):
    api(lambda: API_CASES[case](x), typed(x) if case == "check_claim(claim)" else "")


TRACKER_OPTIONS = {
    "rate_hz": lambda x: dict(rate_hz=x),
    "price_per_kwh": lambda x: dict(price_per_kwh=x),
    "budget_kwh": lambda x: dict(budget_kwh=x),
    "budget_co2e_kg": lambda x: dict(budget_co2e_kg=x),
    "budget_cost": lambda x: dict(budget_cost=x, price_per_kwh=0.2),
    "total_work": lambda x: dict(total_work={"steps": x}),
    "settings_pue": lambda x: dict(settings={"pue": x}),
}


@pytest.mark.parametrize("option", sorted(TRACKER_OPTIONS))
@settings(max_examples=25, deadline=None)
@given(x=BAD)
@specials()
def test_tracker_options_refuse_or_keep_finite_values(option, x):
    try:
        tracker = wattprint.Tracker(sensors=[], **TRACKER_OPTIONS[option](x))
    except (UsageError, ConfigError) as err:
        assert_clean_error(err)
        return
    assert math.isfinite(tracker.rate_hz) and 0 < tracker.rate_hz <= 1000


@pytest.fixture(scope="module")
def running():
    run = wattprint.start("property", sensors=[FakeSensor(10.0)], rate_hz=5,
                          total_work={"steps": 10**6})
    yield run
    run.stop()
    assert_clean_figures(run.result.to_dict())


@settings(max_examples=50, deadline=None)
@given(x=BAD, unit=st.sampled_from(["tokens", "samples", "steps", "requests"]))
@specials(unit="tokens")
def test_count_refuses_or_keeps_counters_finite(running, x, unit):
    try:
        running.count(**{unit: x})
    except UsageError as err:
        assert_clean_error(err)
    assert_clean_figures(running.counters)


@settings(max_examples=40, deadline=None)
@given(x=BAD)
@specials()
def test_progress_refuses_or_forecasts_finite(running, x):
    try:
        running.progress(steps=x)
    except UsageError as err:
        assert_clean_error(err)
    forecast = running.forecast()
    if forecast is not None:
        assert not TEXT_FAULT.search(forecast.short()), forecast.short()


@pytest.mark.parametrize("variable", ["WATTPRINT_PUE", "WATTPRINT_RATE_HZ"])
@settings(max_examples=25, deadline=None)
@given(x=BAD)
@specials()
def test_environment_variables_refuse_or_give_finite_settings(tmp_path_factory, variable, x):
    from wattprint.config import load_config

    folder = tmp_path_factory.getbasetemp()
    env = {variable: repr(x) if isinstance(x, float) else str(x),
           "XDG_CONFIG_HOME": str(folder / "no-config")}
    try:
        config = load_config(cwd=str(folder), env=env)
    except ConfigError as err:
        assert variable in str(err)
        assert_clean_error(err, env[variable])
        return
    assert_clean_figures({"pue": config.pue, "rate_hz": config.rate_hz})


@settings(max_examples=25, deadline=None)
@given(x=BAD)
@specials()
def test_report_progress_never_raises(tmp_path_factory, x):
    import os

    from wattprint.forecast import report_progress

    path = tmp_path_factory.getbasetemp() / "progress"
    os.environ["WATTPRINT_PROGRESS_FILE"] = str(path)
    try:
        assert report_progress(x, 100, min_interval_s=0.0) in (True, False)
    finally:
        del os.environ["WATTPRINT_PROGRESS_FILE"]


# -- the command line -----------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def clean_environment(tmp_path_factory):
    """No user configuration, no WATTPRINT_* variables, a ledger with one recorded run."""
    import os

    folder = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("WATTPRINT_")]:
            mp.delenv(name)
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        mp.setenv("WATTPRINT_LEDGER", str(folder / "ledger.db"))
        mp.chdir(folder)
        with wattprint.track("recorded", sensors=[FakeSensor(100.0)], rate_hz=50,
                             ledger=True, zone="DE") as run:
            run.count(tokens=1000)
        # a fixed start: the report's advice depends on the hour a run started (CI once
        # failed only at some hours of the day); 09:10 UTC on a December Monday is one of
        # the starts whose typical-week cleanest hour was dirtier on some 2023 days
        from wattprint.ledger import Ledger

        with Ledger(str(folder / "ledger.db")) as ledger, ledger._writing() as conn:
            conn.execute("UPDATE runs SET started_at = ? WHERE id = ?",
                         ("2026-12-07T09:10:00.000+00:00", run.run_id))
        yield folder


def cli(*argv: str) -> tuple[int, str, str]:
    from wattprint.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse: a value it cannot read at all
            code = exc.code
    return int(code or 0), out.getvalue(), err.getvalue()


def as_flag(x: Any) -> str:
    return repr(x) if isinstance(x, float) else str(x)


TRAIN = ("estimate", "train", "--hardware", "H100", "--count", "8")
CLI_CASES: dict[str, Callable[[str], tuple[str, ...]]] = {
    "train --days": lambda v: (*TRAIN, "--days", v),
    "train --hours": lambda v: (*TRAIN, "--hours", v),
    "train --pue": lambda v: (*TRAIN, "--days", "3", "--pue", v),
    "train --intensity": lambda v: (*TRAIN, "--days", "3", "--intensity", v),
    "train --wue": lambda v: (*TRAIN, "--days", "3", "--wue", v),
    "train --renewable-share": lambda v: (*TRAIN, "--days", "3", "--renewable-share", v),
    "train --price": lambda v: (*TRAIN, "--days", "3", "--price", v),
    "train --tdp": lambda v: (*TRAIN, "--days", "3", "--tdp", v),
    "train --tdp (compute)": lambda v: (*TRAIN, "--params", "7B", "--tokens", "1T",
                                        "--tdp", v),
    "check --tdp": lambda v: ("check", "1GWh", "--hardware", "H100", "--params", "7B",
                              "--tokens", "1T", "--tdp", v),
    "train --mfu": lambda v: (*TRAIN, "--params", "7B", "--tokens", "1T", "--mfu", v),
    "train --peak-tflops": lambda v: (*TRAIN, "--params", "7B", "--tokens", "1T",
                                      "--peak-tflops", v),
    "train --params": lambda v: (*TRAIN, "--params", v, "--tokens", "1T"),
    "train --tokens": lambda v: (*TRAIN, "--params", "7B", "--tokens", v),
    "train --accelerator-hours": lambda v: ("estimate", "train", "--hardware", "H100",
                                            "--accelerator-hours", v),
    "train --power": lambda v: (*TRAIN, "--days", "3", "--power", f"{v}W"),
    "infer --bandwidth": lambda v: ("estimate", "infer", "--params", "8B", "--bandwidth", v),
    "infer --output-tokens": lambda v: ("estimate", "infer", "--params", "8B",
                                        "--output-tokens", v),
    "infer --intensity": lambda v: ("estimate", "infer", "--params", "8B", "--intensity", v),
    "fleet --requests-per-day": lambda v: ("estimate", "fleet", "--requests-per-day", v,
                                           "--per-request", "0.3Wh"),
    "fleet --per-request": lambda v: ("estimate", "fleet", "--requests-per-day", "1B",
                                      "--per-request", f"{v}Wh"),
    "fleet --growth": lambda v: ("estimate", "fleet", "--requests-per-day", "1B",
                                 "--per-request", "0.3Wh", "--growth", v),
    "fleet --pue": lambda v: ("estimate", "fleet", "--requests-per-day", "1B",
                              "--per-request", "0.3Wh", "--pue", v),
}


def refused(code: int, err: str) -> bool:
    """Whether the command refused its input (exit 2): then with an error line, and no
    30-digit number echoed back."""
    if code != 2:
        return False
    errors = [line for line in err.splitlines() if line.startswith("wattprint: error:")
              or line.startswith("usage:")]
    assert errors, err
    assert not re.search(r"\d{30}", err), err
    return True


def check_cli(code: int, out: str, err: str, *, figures: bool,
              argv: tuple[str, ...] = (), typed: str = "") -> None:
    """Exit 2 with an error line, or 0 with clean figures; either way no exponent notation
    in what it writes to stderr (errors, warnings, notes) but in the arguments that hold
    ``typed``, the value as the user typed it."""
    assert "Traceback" not in out + err and "unexpected error" not in err, err
    assert not message_fault(err, *[arg for arg in argv if typed and typed in arg]), err
    if refused(code, err):
        return
    assert code == 0, (code, err)
    if figures:  # JSON: raw numbers may be written 1e-05; its texts are for people
        import json

        assert_clean_figures(json.loads(out))
    else:
        assert not TEXT_FAULT.search(out), out


@pytest.mark.parametrize("case", sorted(CLI_CASES))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=BAD)
@specials()
def test_estimate_flags_refuse_or_print_finite_figures(case, x):
    argv = CLI_CASES[case](as_flag(x))
    check_cli(*cli(*argv, "--json"), figures=True, argv=argv, typed=as_flag(x))


@settings(max_examples=10, deadline=None)
@given(x=BAD)
@specials()
def test_estimate_text_output_has_no_nan_or_runaway_number(x):
    argv = ("estimate", "fleet", "--requests-per-day", as_flag(x), "--per-request", "0.3Wh")
    check_cli(*cli(*argv), figures=False, argv=argv, typed=as_flag(x))


@settings(max_examples=10, deadline=None)
@given(x=BAD)
@specials()
def test_equiv_refuses_or_prints_finite_equivalents(x):
    argv = ("equiv", f"{as_flag(x)}J", "--json")
    check_cli(*cli(*argv), figures=True, argv=argv, typed=as_flag(x))


@settings(max_examples=10, deadline=None)
@given(x=BAD)
@specials()
def test_check_refuses_or_prints_a_finite_verdict(x):
    argv = ("check", "1GWh", "--hardware", "H100", "--count", "8", "--days", as_flag(x))
    check_cli(*cli(*argv), figures=False, argv=argv, typed=as_flag(x))




NONFINITE = re.compile(r"\b(nan|inf|infinity)\b", re.I)


def check_machine_text(out: str) -> None:
    """CSV / JSON lines: raw numbers (exponents allowed), never nan or inf."""
    assert not NONFINITE.search(out), out[:2000]


RUN_FLAGS: dict[str, tuple[str, ...]] = {
    "--budget-kwh": (),
    "--budget-co2e-kg": (),
    "--budget-cost": ("--price-per-kwh", "0.2"),
    "--price-per-kwh": (),
    "--grace-s": ("--budget-kwh", "1000"),
}


@pytest.mark.parametrize("flag", sorted(RUN_FLAGS))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=BAD)
@specials()
def test_run_flags_refuse_or_run_the_command(flag, x):
    """``wattprint run``: a bad budget, price or grace period is refused before the command
    starts (exit 2, one line); a legal one runs it (its status, or 3 when a budget that
    small stopped it) with no nan or inf in what is printed."""
    code, out, err = cli("run", "--no-ledger", "--no-gpu", "--rate", "20", *RUN_FLAGS[flag],
                         flag, as_flag(x), "--", "true")
    assert "Traceback" not in out + err and "unexpected error" not in err, err
    assert not message_fault(err, as_flag(x)), err
    if refused(code, err):
        return
    assert code in (0, 3), (code, err)
    assert not TEXT_FAULT.search(out + err), err


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=BAD, fmt=st.sampled_from(["csv", "jsonl"]))
@specials(fmt="csv")
def test_export_every_refuses_or_writes_finite_rows(x, fmt):
    argv = ("export", "last", "--what", "samples", "--format", fmt, "--every", as_flag(x))
    code, out, err = cli(*argv)
    check_cli(code, "", err, figures=False, argv=argv, typed=as_flag(x))
    if code == 0:
        check_machine_text(out)
        assert out.strip(), "a legal interval keeps at least one sample"


REPORT_FORMATS = ("html", "md", "latex", "model-card", "eu-ai-act", "json")


@pytest.mark.parametrize("fmt", REPORT_FORMATS)
@pytest.mark.parametrize("flag", ["--pue", "--market-factor", "--price-per-kwh",
                                  "--renewable-share", "--points"])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=BAD)
@specials()
def test_report_flags_refuse_or_write_no_nan_in_every_format(flag, fmt, x):
    argv = ("report", "last", "--format", fmt, "-o", "-", flag, as_flag(x))
    code, out, err = cli(*argv)
    check_cli(code, "", err, figures=False, argv=argv, typed=as_flag(x))
    if code != 0:
        return
    if fmt == "json":
        import json

        check_machine_text(out)
        json.loads(out)
    else:
        fault = TEXT_FAULT.search(out)
        assert fault is None, out[max(0, fault.start() - 200):fault.end() + 50]
