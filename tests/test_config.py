"""Settings: precedence (default < user file < project file < environment < flags),
where each value came from, and errors that name the key, the value and what is allowed."""

from __future__ import annotations

import os

import pytest

from wattprint.config import SETTINGS, find_project_file, load_config
from wattprint.errors import ConfigError


@pytest.fixture
def dirs(tmp_path):
    home = tmp_path / "home"
    project = tmp_path / "work" / "proj"
    sub = project / "src" / "deep"
    sub.mkdir(parents=True)
    (home / "wattprint").mkdir(parents=True)
    env = {"XDG_CONFIG_HOME": str(home), "XDG_DATA_HOME": str(tmp_path / "data")}
    return home, project, sub, env


def test_defaults(dirs) -> None:
    _, _, sub, env = dirs
    config = load_config(cwd=str(sub), env=env)
    assert config.mode == "process" and config.rate_hz == 10.0 and config.gpus is True
    assert config.quiet is False and config.tags == [] and config.project is None
    assert config.ledger == os.path.join(env["XDG_DATA_HOME"], "wattprint", "ledger.db")
    assert set(config.sources.values()) == {"default"}
    assert set(SETTINGS) >= {"ledger", "project", "mode", "rate_hz", "gpus", "zone", "pue",
                             "quiet"}


def test_precedence_user_project_env_flag(dirs) -> None:
    home, project, sub, env = dirs
    (home / "wattprint" / "config.toml").write_text(
        'project = "from-user"\nzone = "DE"\nrate_hz = 2\npue = 1.5\n')
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.wattprint]\nproject = "from-project"\nzone = "FR"\n'
        'ledger = ".wattprint/ledger.db"\ntags = ["a", "b"]\n')
    env = {**env, "WATTPRINT_ZONE": "SE", "WATTPRINT_QUIET": "yes"}
    config = load_config({"zone": "NO", "mode": None}, cwd=str(sub), env=env)
    assert (config.project, config.zone, config.rate_hz, config.pue, config.quiet) == (
        "from-project", "NO", 2.0, 1.5, True)
    assert config.tags == ["a", "b"]
    assert config.ledger == str(project / ".wattprint" / "ledger.db")  # relative to the file
    user_file = str(home / "wattprint" / "config.toml")
    assert config.sources == {
        "ledger": f"{project / 'pyproject.toml'} [tool.wattprint]",
        "project": f"{project / 'pyproject.toml'} [tool.wattprint]",
        "tags": f"{project / 'pyproject.toml'} [tool.wattprint]",
        "mode": "default", "rate_hz": user_file, "gpus": "default",
        "zone": "flag --zone", "pue": user_file, "quiet": "environment WATTPRINT_QUIET",
        "server": "default", "token": "default", "intensity_provider": "default"}
    assert config.files == [user_file, f"{project / 'pyproject.toml'} [tool.wattprint]"]


def test_wattprint_toml_beats_pyproject_in_the_same_folder(dirs) -> None:
    _, project, sub, env = dirs
    (project / "pyproject.toml").write_text('[tool.wattprint]\nproject = "py"\n')
    (project / "wattprint.toml").write_text('project = "wt"\n')
    assert load_config(cwd=str(sub), env=env).project == "wt"
    (project / "wattprint.toml").unlink()
    (project / "pyproject.toml").write_text('[project]\nname = "no wattprint table"\n')
    assert find_project_file(str(sub)) is None or "proj" not in find_project_file(str(sub))[0]


def test_env_parsing_and_flag_names(dirs) -> None:
    _, _, sub, env = dirs
    env = {**env, "WATTPRINT_GPUS": "off", "WATTPRINT_RATE_HZ": "2.5",
           "WATTPRINT_TAGS": "x, y,,z", "WATTPRINT_LEDGER": "~/l.db",
           "WATTPRINT_CONFIG_DIR_TYPO": "1", "WATTPRINT_PROJECT": ""}
    config = load_config({"gpus": False}, cwd=str(sub), env=env,
                         flag_names={"gpus": "--no-gpu"})
    assert config.gpus is False and config.sources["gpus"] == "flag --no-gpu"
    assert config.rate_hz == 2.5 and config.tags == ["x", "y", "z"]
    assert config.ledger == os.path.expanduser("~/l.db")
    assert config.project is None  # empty variables are ignored
    assert config.unknown_env == ["WATTPRINT_CONFIG_DIR_TYPO"]


@pytest.mark.parametrize("source, text, key, allowed", [
    ("file", 'rate_hz = 0\n', "rate_hz", "above 0"),
    ("file", 'rate_hz = "fast"\n', "rate_hz", "samples per second"),
    ("file", 'mode = "gpu"\n', "mode", "'process' or 'machine'"),
    ("file", 'pue = 0.5\n', "pue", "1.0 to 3.0"),
    ("file", 'gpus = "yes"\n', "gpus", "true or false"),
    ("file", 'zone = "France / Paris"\n', "zone", "a grid zone such as"),
    ("file", 'tags = ["has space"]\n', "tags", "without spaces"),
    ("file", 'colour = "blue"\n', "colour", "known settings"),
    ("env", "WATTPRINT_RATE_HZ=-3", "rate_hz", "above 0"),
    ("env", "WATTPRINT_QUIET=maybe", "quiet", "true or false"),
])
def test_bad_values_name_key_value_and_allowed(dirs, source, text, key, allowed) -> None:
    _, project, sub, env = dirs
    if source == "file":
        (project / "wattprint.toml").write_text(text)
    else:
        name, value = text.split("=", 1)
        env = {**env, name: value}
    with pytest.raises(ConfigError) as err:
        load_config(cwd=str(sub), env=env)
    message = str(err.value)
    assert key in message and allowed in message and err.value.key == key
    if source == "file":
        assert "wattprint.toml" in message
    else:
        assert "WATTPRINT_" in message and repr(err.value.value) in message


def test_bad_toml_names_the_file(dirs) -> None:
    _, project, sub, env = dirs
    (project / "wattprint.toml").write_text("project = \n")
    with pytest.raises(ConfigError, match="wattprint.toml: not valid TOML"):
        load_config(cwd=str(sub), env=env)


def test_explicit_user_file(dirs, tmp_path) -> None:
    _, _, sub, env = dirs
    user = tmp_path / "mine.toml"
    user.write_text('mode = "machine"\n')
    config = load_config(cwd=str(sub), env={**env, "WATTPRINT_CONFIG": str(user)})
    assert config.mode == "machine" and config.sources["mode"] == str(user)


def test_config_does_not_import_the_ledger(dirs) -> None:
    """The config ↔ ledger cycle is gone: config takes the default path and the tag rule
    from a small shared module, and loading a config never pulls in the ledger package."""
    import ast
    import subprocess
    import sys

    import wattprint.config as config_module

    tree = ast.parse(open(config_module.__file__, encoding="utf-8").read())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [m for m in imported if m.lstrip(".").startswith("ledger")
                or m.startswith("wattprint.ledger")], imported
    _, _, sub, env = dirs
    code = ("import sys; from wattprint.config import load_config; "
            f"c = load_config(cwd={str(sub)!r}, env={env!r}); "
            "assert c.ledger.endswith('ledger.db'); "
            "print('wattprint.ledger' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
