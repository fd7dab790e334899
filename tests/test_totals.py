"""One rule for run totals: ``wattprint.result.aggregate`` (used by the tracker, ledger
recovery, reports and job merges)."""

from __future__ import annotations

import math

from hypothesis import given, strategies as st

from wattprint.result import DeviceEnergy, aggregate, basis_of, uncertainty_of


def dev(energy_j, *, kind="measured", domain="gpu", counted=True, u=None):
    prov = {} if u is None else {"uncertainty": u}
    return DeviceEnergy(name="d", domain=domain, kind=kind, device="0", energy_j=energy_j,
                        device_energy_j=energy_j or 0.0, mean_power_w=0.0, peak_power_w=0.0,
                        samples=1, counted=counted, provenance=prov)


def test_nested_devices_are_not_summed_and_ranges_come_from_each_device():
    t = aggregate([dev(100.0), dev(40.0, kind="modelled", domain="cpu", u=0.25),
                   dev(30.0, domain="cpu", counted=False)])
    assert t.energy_j == 140.0
    assert (t.energy_low_j, t.energy_high_j) == (130.0, 150.0)
    assert t.by_domain == {"gpu": 100.0, "cpu": 40.0}
    assert t.basis == "mixed" and t.measured_j == 100.0
    assert math.isclose(t.measured_fraction, 100 / 140)


def test_basis_and_uncertainty_parsing():
    assert basis_of([]) == "none" and basis_of(["modelled", "modelled"]) == "modelled"
    assert uncertainty_of('{"uncertainty": 0.3}') == 0.3
    assert uncertainty_of("not json") == 0.0
    assert uncertainty_of({"uncertainty": float("nan")}) == 0.0
    assert uncertainty_of({"uncertainty": 7}) == 1.0  # a range never goes below zero


@given(st.lists(st.tuples(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
                          st.sampled_from(["measured", "modelled"]),
                          st.one_of(st.none(), st.floats(allow_nan=True)), st.booleans()),
                max_size=6))
def test_totals_are_always_finite_and_ordered(rows):
    t = aggregate(dev(e, kind=k, u=u, counted=c) for e, k, u, c in rows)
    for value in (t.energy_j, t.energy_low_j, t.energy_high_j, *t.by_domain.values()):
        assert math.isfinite(value) and value >= 0
    assert t.energy_low_j <= t.energy_j * (1 + 1e-12) and t.energy_j <= t.energy_high_j * (1 + 1e-12)


def test_per_unit_figures_are_finite_even_for_a_tiny_count() -> None:
    """A count so small that energy / count overflows leaves that unit out: no infinity
    in ``per_unit``, in the metrics sent to trackers, or in a report."""
    import math

    import wattprint
    from wattprint.integrations.metrics import per_unit
    from wattprint.testing import FakeSensor

    run = wattprint.track("tiny-count", sensors=[FakeSensor(100.0)], rate_hz=100).start()
    run.count(samples=5e-324, tokens=10)
    result = run.stop()
    assert result.energy_j > 0
    assert "j_per_sample" not in result.per_unit
    assert result.per_unit["j_per_token"] == result.energy_j / 10
    metrics = per_unit(result.energy_j, result.counters)
    assert set(metrics) == {"j_per_token"}
    assert all(math.isfinite(v) for v in result.to_dict()["per_unit"].values())


def test_report_sci_of_a_tiny_count_has_no_infinity(tmp_path) -> None:
    import json
    import math

    import wattprint
    from wattprint.ledger import Ledger
    from wattprint.report._data import build_report
    from wattprint.testing import FakeSensor

    with Ledger(str(tmp_path / "l.db")) as led:
        run = wattprint.track("tiny", sensors=[FakeSensor(100.0)], rate_hz=100, ledger=led,
                              zone="FR").start()
        run.count(samples=5e-324, tokens=10)
        run_id = run.stop().run_id
        data = build_report(led, run_id).to_dict()
    units = [s["functional_unit"] for s in data["sci"]]
    assert "token" in units and "sample" not in units
    text = json.dumps(data, default=str)
    assert "Infinity" not in text and "NaN" not in text
    assert all(math.isfinite(s["sci_g_per_unit"]) for s in data["sci"])
