"""``wattprint config``: every setting, its effective value and where it came from
(default, user file, project file, environment variable or flag)."""

from __future__ import annotations

import argparse
import json

from ._common import table

PRECEDENCE = ("precedence (later wins): default < user file < project file "
              "(wattprint.toml or [tool.wattprint] in pyproject.toml) < WATTPRINT_* "
              "environment variables < flags")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="JSON output for scripts")


def handle(args: argparse.Namespace) -> int:
    from ..config import SETTINGS, load_config, user_config_path

    config = load_config({"ledger": getattr(args, "ledger", None)})
    if args.json:
        print(json.dumps({"settings": config.as_dict(), "files": config.files,
                          "user_file": user_config_path(),
                          "ignored_environment": config.unknown_env}, indent=1))
        return 0

    def show(value: object) -> str:
        if value is None:
            return "(not set)"
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "(none)"
        return str(value)

    rows = [(key, show(s.show(config.values[key])), config.sources[key])
            for key, s in SETTINGS.items()]
    print("\n".join(table(("KEY", "VALUE", "SOURCE"), rows)))
    print()
    print(f"user file:    {user_config_path()}"
          + ("" if user_config_path() in config.files else "  (not found)"))
    project = [f for f in config.files if f != user_config_path()]
    print(f"project file: {project[0] if project else '(none found from here upwards)'}")
    for name in config.unknown_env:
        print(f"ignored: {name} is not a wattprint setting (settings: "
              f"{', '.join(s.env for s in SETTINGS.values())})")
    print(PRECEDENCE)
    return 0
