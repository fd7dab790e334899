"""Contracts of the public surface: what is exported, and that importing starts nothing."""

from __future__ import annotations

import subprocess
import sys

import wattprint
import wattprint.errors
import wattprint.testing

EXPECTED = {
    "track", "start", "Tracker", "Phase", "detect", "Detection",
    "RunResult", "DeviceEnergy", "PhaseEnergy",
    "WattprintError", "UsageError", "ConfigError", "SensorError", "SensorUnavailable",
    "SensorReadError", "__version__", "bench",
}


def test_all_matches_the_documented_surface() -> None:
    # Fails when something is added to or removed from the public API without review.
    assert set(wattprint.__all__) == EXPECTED
    for name in wattprint.__all__:
        assert hasattr(wattprint, name), name


def test_public_modules_all_resolve() -> None:
    for module in (wattprint.errors, wattprint.testing):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_every_error_is_a_wattprint_error() -> None:
    for name in wattprint.errors.__all__:
        obj = getattr(wattprint.errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, wattprint.WattprintError)


def test_import_starts_no_thread_and_loads_no_vendor_library() -> None:
    code = ("import sys, threading, wattprint; "
            "assert threading.active_count() == 1, threading.enumerate(); "
            "heavy = {'pynvml', 'amdsmi', 'pandas', 'numpy', 'sqlite3'} & set(sys.modules); "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_errors_defined_outside_errors_py_join_the_tree() -> None:
    from wattprint.accounting.providers import ProviderError
    from wattprint.accounting.zones import UnknownZoneError
    from wattprint.estimate.catalogue import UnknownAccelerator
    from wattprint.wire import PayloadError

    assert issubclass(UnknownZoneError, wattprint.ConfigError)
    assert issubclass(ProviderError, wattprint.WattprintError)
    doc = wattprint.errors.__doc__
    assert issubclass(UnknownAccelerator, wattprint.UsageError)
    assert issubclass(PayloadError, wattprint.UsageError)
    for cls in (UnknownZoneError, ProviderError, UnknownAccelerator, PayloadError):
        assert cls.__name__ in doc, f"draw {cls.__name__} in the tree in errors.py"
