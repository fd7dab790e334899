"""CLI start-up: each command imports only its own module, and every command is still
listed by ``wattprint --help`` and runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from _cli import WATTPRINT, cli_env, wp
from wattprint.cli import COMMANDS, command_of, main

NAMES = [name for name, _, _ in COMMANDS]


def loaded_command_modules(tmp_path, *argv: str) -> list[str]:
    """The command modules a fresh interpreter imported to run ``wattprint ARGV``."""
    code = ("import sys; from wattprint.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "import json; print(json.dumps(sorted(m for m in sys.modules\n"
            "    if m.startswith('wattprint.cli._') and m != 'wattprint.cli._common')),"
            " file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, *argv], env=cli_env(tmp_path),
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
    return json.loads(proc.stderr.strip().splitlines()[-1])


def test_help_lists_every_command(tmp_path) -> None:
    proc = wp(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr
    for name, _, help_ in COMMANDS:
        assert name in proc.stdout
        assert help_.split()[0] in proc.stdout


def test_a_command_imports_only_its_own_module(tmp_path) -> None:
    assert loaded_command_modules(tmp_path, "--version") == []
    assert loaded_command_modules(tmp_path, "--help") == []
    assert loaded_command_modules(tmp_path, "runs", "-n", "1") == ["wattprint.cli._runs"]
    assert loaded_command_modules(tmp_path, "--ledger", str(tmp_path / "x.db"), "-v",
                                  "rm", "--help") == ["wattprint.cli._rm"]


@pytest.mark.parametrize("name", NAMES)
def test_every_command_parses_and_has_its_help(name: str, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: wattprint {name}")


def test_commands_run_from_the_lazy_parser(tmp_path) -> None:
    assert wp(tmp_path, "runs").returncode == 0
    zones = wp(tmp_path, "zones", "germany")
    assert zones.returncode == 0 and "DE" in zones.stdout, zones.stderr
    proc = wp(tmp_path, "estimate", "train", "--hardware", "H100", "--count", "8",
              "--days", "1")
    assert proc.returncode == 0, proc.stderr
    unknown = subprocess.run([*WATTPRINT, "no-such-command"], env=cli_env(tmp_path),
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


def test_command_of_skips_global_options() -> None:
    assert command_of(["--ledger", "runs", "show", "x"]) == "show"
    assert command_of(["-v", "--ledger=a.db", "runs"]) == "runs"
    assert command_of(["--version"]) == ""
    assert command_of([]) == ""
