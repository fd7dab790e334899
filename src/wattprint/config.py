"""Settings, and where each one came from.

Precedence, lowest to highest (a later source overrides an earlier one, key by key):

1. built-in defaults;
2. the user file: ``$WATTPRINT_CONFIG``, else ``$XDG_CONFIG_HOME/wattprint/config.toml``
   (``~/.config/wattprint/config.toml``);
3. the project file: the nearest ``wattprint.toml`` (top-level keys) or ``pyproject.toml``
   with a ``[tool.wattprint]`` table, looking in the current folder and then its parents;
4. environment variables ``WATTPRINT_<KEY>`` (``WATTPRINT_RATE_HZ=5``);
5. command-line flags.

A relative ``ledger`` path in a file is relative to that file's folder. Unknown keys and
bad values in files, environment variables or flags raise :class:`ConfigError` naming the
key, the value and what is allowed. ``wattprint config`` prints the effective values
and their sources. Nothing is read at import time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ._ledger_rules import clean_tags, default_ledger_path
from .errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["Config", "SETTINGS", "load_config", "user_config_path", "find_project_file"]

#: Environment variables with the prefix that are not settings (WATTPRINT_SERVER_DB: the
#: database of `wattprint server`).
OTHER_ENV = frozenset({"WATTPRINT_CONFIG", "WATTPRINT_SERVER_DB", "WATTPRINT_NOW"})
_ZONE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.: -]{0,63}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    allowed: str
    parse: Callable[[Any, bool], Any]  # (value, from_text) -> value; raises ValueError
    help: str
    secret: bool = False  # shown masked (wattprint.push.mask_token), never in full

    def show(self, value: Any) -> Any:
        """The value as it may be printed or logged."""
        if self.secret and value is not None:
            from .push._target import mask_token

            return mask_token(value)
        return value

    @property
    def env(self) -> str:
        return "WATTPRINT_" + self.key.upper()


def _bool(value: Any, text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if text and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError


def _number(rule: str) -> Callable[[Any, bool], float]:
    """A number checked by the rule of :mod:`wattprint.inputs` of that name (one range for
    the API, the flags, the files and the variables)."""
    def parse(value: Any, text: bool) -> float:
        from . import inputs

        if text and isinstance(value, str):
            value = float(value)
        return float(inputs.check(rule, rule, value))
    return parse


def _choice(*options: str) -> Callable[[Any, bool], str]:
    def parse(value: Any, text: bool) -> str:
        if isinstance(value, str) and value.strip() in options:
            return value.strip()
        raise ValueError
    return parse


def _string(pattern: re.Pattern[str] | None = None) -> Callable[[Any, bool], str]:
    def parse(value: Any, text: bool) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError
        if pattern is not None and not pattern.match(value.strip()):
            raise ValueError
        return value.strip()
    return parse


def _tags(value: Any, text: bool) -> list[str]:
    if text and isinstance(value, str):
        value = [t for t in value.split(",") if t.strip()]
    if not isinstance(value, list):
        raise ValueError
    try:
        return clean_tags(value)
    except Exception as err:  # UsageError
        raise ValueError from err


def _server(value: Any, text: bool) -> str:
    from .push._target import server_url

    return server_url(value)


def _token(value: Any, text: bool) -> str:
    from .push._target import api_token

    return api_token(value)


def _default_ledger(env: Mapping[str, str]) -> str:
    return default_ledger_path(env)


SETTINGS: dict[str, Setting] = {s.key: s for s in (
    Setting("ledger", None, "a file path", _string(),
            "the run ledger (SQLite file)"),
    Setting("project", None, "a non-empty string", _string(),
            "project recorded with each run"),
    Setting("tags", [], "a list of tags (in variables: comma-separated), each 1-64 characters "
            "without spaces or commas", _tags, "tags added to each run"),
    Setting("mode", "process", "'process' or 'machine'", _choice("process", "machine"),
            "attribute shared devices to the process tree, or count whole devices"),
    Setting("rate_hz", 10.0, "a number of samples per second, above 0 and at most 1000",
            _number("rate_hz"), "sampling rate of fast sensors"),
    Setting("gpus", True, "true or false", _bool, "probe GPUs"),
    Setting("zone", None, "a grid zone such as 'FR', 'DE', 'US-CAL-CISO' or a cloud region "
            "'aws:us-east-1' (letters, digits, '-', '_', '.', ':', spaces)", _string(_ZONE),
            "electricity grid zone, used for carbon accounting"),
    Setting("pue", None, "a number from 1.0 to 3.0", _number("pue"),
            "power usage effectiveness of the facility"),
    Setting("quiet", False, "true or false", _bool, "no live display and no summary"),
    Setting("server", None, "an http:// or https:// URL: http(s)://host[:port][/path]",
            _server, "team server that runs are pushed to (`wattprint push`; automatic "
            "after each recorded run when a token is set too)"),
    Setting("token", None, "an API token: 8 to 512 characters of letters, digits and "
            "- . _ ~ + / = (from `wattprint server token create`)", _token,
            "API token for the team server (shown masked, never stored in the ledger)",
            secret=True),
    Setting("intensity_provider", "shipped", "'shipped', 'electricitymaps', 'watttime' or "
            "'uk-carbon-intensity'", _choice("shipped", "electricitymaps", "watttime",
                                             "uk-carbon-intensity"),
            "where `wattprint when/where/run --start-within` get the hours ahead: a live "
            "forecast (its keys in WATTPRINT_ELECTRICITYMAPS_TOKEN…) or the shipped profiles"),
)}


@dataclass
class Config:
    """Effective settings; ``sources[key]`` says where each value came from."""

    values: dict[str, Any]
    sources: dict[str, str]
    files: list[str] = field(default_factory=list)
    unknown_env: list[str] = field(default_factory=list)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["values"][key]
        except KeyError:
            raise AttributeError(key) from None

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {k: {"value": SETTINGS[k].show(self.values[k]), "source": self.sources[k]}
                for k in SETTINGS}


def user_config_path(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if env.get("WATTPRINT_CONFIG"):
        return os.path.expanduser(env["WATTPRINT_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "wattprint", "config.toml")


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: the file is not UTF-8 text (byte "
                          f"0x{err.object[err.start]:02x} at offset {err.start}); save it "
                          "as UTF-8") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror or err}") from err


def find_project_file(cwd: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """The nearest project file with wattprint settings and its table, or None."""
    folder = os.path.abspath(cwd or os.getcwd())
    while True:
        candidate = os.path.join(folder, "wattprint.toml")
        if os.path.isfile(candidate):
            return candidate, _read_toml(candidate)
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            table = _read_toml(candidate).get("tool", {}).get("wattprint")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError(f"{candidate}: [tool.wattprint] must be a table")
                return candidate + " [tool.wattprint]", table
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _apply(values: dict[str, Any], sources: dict[str, str], key: str, value: Any,
           source: str, *, text: bool, base_dir: str | None = None) -> None:
    setting = SETTINGS.get(key)
    if setting is None:
        raise ConfigError(f"{source}: unknown setting {key!r}; known settings: "
                          f"{', '.join(SETTINGS)}", key=key, value=value,
                          allowed=", ".join(SETTINGS))
    try:
        parsed = setting.parse(value, text)
    except (ValueError, TypeError):
        from .inputs import echo

        shown = setting.show(value) if isinstance(value, str) else value
        raise ConfigError(f"{source}: {key} = {echo(shown)} is not valid; expected "
                          f"{setting.allowed}", key=key, value=shown,
                          allowed=setting.allowed) from None
    if key == "ledger":
        parsed = os.path.expanduser(parsed)
        if base_dir is not None and not os.path.isabs(parsed):
            parsed = os.path.join(base_dir, parsed)
        parsed = os.path.abspath(parsed)
    values[key] = parsed
    sources[key] = source


def _apply_file(values: dict[str, Any], sources: dict[str, str], label: str,
                table: Mapping[str, Any]) -> None:
    path = label.split(" [", 1)[0]
    for key, value in table.items():
        _apply(values, sources, key, value, label, text=False,
               base_dir=os.path.dirname(os.path.abspath(path)))


def load_config(flags: Mapping[str, Any] | None = None, *, cwd: str | None = None,
                env: Mapping[str, str] | None = None,
                flag_names: Mapping[str, str] | None = None) -> Config:
    """The effective settings. ``flags`` maps keys to command-line values (``None``: not
    given); ``flag_names`` maps keys to the flag's spelling for the sources (default
    ``--key``). ``cwd`` and ``env`` default to the process's."""
    env = os.environ if env is None else env
    values = {k: (list(s.default) if isinstance(s.default, list) else s.default)
              for k, s in SETTINGS.items()}
    sources = {k: "default" for k in SETTINGS}
    files: list[str] = []
    user = user_config_path(env)
    if os.path.isfile(user):
        table = _read_toml(user)
        _apply_file(values, sources, user, table)
        files.append(user)
    project = find_project_file(cwd)
    if project is not None:
        _apply_file(values, sources, project[0], project[1])
        files.append(project[0])
    unknown_env = []
    for name, value in sorted(env.items()):
        if not name.startswith("WATTPRINT_") or name in OTHER_ENV:
            continue
        key = name[len("WATTPRINT_"):].lower()
        if key not in SETTINGS:
            unknown_env.append(name)
            continue
        if value == "":
            continue
        _apply(values, sources, key, value, f"environment {name}", text=True)
    for key, value in (flags or {}).items():
        if value is None:
            continue
        name = (flag_names or {}).get(key) or "--" + key.replace("_", "-")
        _apply(values, sources, key, value, f"flag {name}", text=False)
    if values["ledger"] is None:
        values["ledger"] = _default_ledger(env)
    return Config(values, sources, files, unknown_env)
