"""``wattprint run`` turns the measured energy into CO2e, naming the zone's dataset and year."""

from __future__ import annotations

import sys

from _cli import cli_env, wp


def test_run_summary_gives_carbon_with_its_source(tmp_path) -> None:
    burn = "import time\nt=time.process_time()\nwhile time.process_time()-t<0.3: pass"
    p = wp(tmp_path, "run", "--zone", "FR", "--", sys.executable, "-c", burn)
    assert p.returncode == 0, p.stderr
    line = next(ln for ln in p.stderr.splitlines() if "CO2e (location-based)" in ln)
    assert "estimated from modelled energy" in line  # no sensors here: say so
    assert "FR" in line and "Electricity Maps" in line and "g/kWh" in line


def test_run_without_zone_warns_loudly(tmp_path) -> None:
    p = wp(tmp_path, "run", "--", sys.executable, "-c", "pass")
    assert p.returncode == 0, p.stderr
    assert "NO GRID ZONE SET" in p.stderr and "WORLD" in p.stderr


def test_zone_from_environment_accepts_cloud_region(tmp_path) -> None:
    env = cli_env(tmp_path, WATTPRINT_ZONE="aws:eu-west-3")
    p = wp(tmp_path, "run", "--", sys.executable, "-c", "pass", env=env)
    assert p.returncode == 0, p.stderr
    assert "CO2e (location-based)" in p.stderr and "NO GRID ZONE SET" not in p.stderr


def test_unknown_zone_is_a_clear_error_not_a_traceback(tmp_path) -> None:
    marker = tmp_path / "ran"
    p = wp(tmp_path, "run", "--zone", "Frnace", "--", sys.executable, "-c",
           f"open({str(marker)!r}, 'w')")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "Frnace" in p.stderr and "did you mean FR" in p.stderr  # suggests a close match
    assert not marker.exists()  # the command was not started
