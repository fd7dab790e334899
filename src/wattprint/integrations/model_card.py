"""The Hugging Face model card block for a training run's carbon: ``co2_eq_emissions`` in
the README.md front matter next to the saved model.

    from wattprint.integrations import write_model_card
    write_model_card("out/my-model", run.result, training_type="fine-tuning", zone="FR")

The block is built by :mod:`wattprint.report._card`, the same code as
``wattprint report --format model-card``, so the callback and the CLI agree. Emissions are
location-based: the run's facility energy × the grid intensity of its zone
(:mod:`wattprint.accounting`, zone from the argument, the configuration or
``WATTPRINT_ZONE``; with none, the world average, which ``source`` says, and no
``geographical_location``). An existing README.md keeps everything else (merged with
``huggingface_hub``'s card API when installed).

``Trainer.create_model_card()`` / ``push_to_hub()`` rewrite README.md from scratch:
:func:`keep_block_through` makes a Trainer put the block back each time (the
Transformers callback does it for you).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from ..report._card import (TRAINING_TYPES, block_yaml, card_run_from_result,
                            merge_card, read_block)
from ..report._card import co2_eq_emissions as _block_of
from ..result import RunResult

__all__ = ["co2_eq_emissions", "render_block", "write_model_card", "read_model_card_block",
           "keep_block_through", "TRAINING_TYPES"]


def co2_eq_emissions(result: RunResult, accounting: Any, *,
                     training_type: str = "fine-tuning") -> dict[str, Any]:
    """The ``co2_eq_emissions`` mapping of a finished run and its accounting
    (:func:`wattprint.accounting.account` of the run's energy)."""
    return _block_of([card_run_from_result(result, accounting)],
                     training_type=training_type)


def render_block(block: dict[str, Any], result: RunResult | None = None) -> str:
    """YAML text of ``co2_eq_emissions`` (for pasting into a front matter)."""
    return block_yaml(block)


def _readme(directory: str | os.PathLike[str], filename: str = "README.md") -> str:
    return os.path.join(os.fspath(directory), filename)


def read_model_card_block(directory: str | os.PathLike[str],
                          filename: str = "README.md") -> dict[str, Any] | None:
    """The ``co2_eq_emissions`` in ``directory/README.md``, or None."""
    path = _readme(directory, filename)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return read_block(f.read())


def _write_block(path: str, block: dict[str, Any]) -> str:
    existing = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            existing = f.read()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(merge_card(existing, block))
    return path


def write_model_card(directory: str | os.PathLike[str], result: RunResult, *,
                     training_type: str = "fine-tuning", accounting: Any = None,
                     zone: str | None = None, pue: float | None = None,
                     filename: str = "README.md") -> str:
    """Write (or merge) the block into ``directory/README.md``; return the file's path.

    ``accounting`` defaults to accounting the run with ``zone``/``pue`` (else the
    configuration's)."""
    if accounting is None:
        from ._carbon import account_run

        accounting = account_run(result, zone=zone, pue=pue)
    block = co2_eq_emissions(result, accounting, training_type=training_type)
    return _write_block(_readme(directory, filename), block)


def keep_block_through(trainer: Any, block: Any = None) -> None:
    """Make ``trainer.create_model_card()`` (which ``push_to_hub()`` calls) keep the
    ``co2_eq_emissions`` block: the one in ``args.output_dir/README.md`` before the call,
    else ``block()`` (a function giving the block to write, or None). Idempotent."""
    original = trainer.create_model_card
    if getattr(original, "_wattprint_keeps_block", False):
        original._wattprint_block = block or original._wattprint_block
        return

    @functools.wraps(original)
    def create_model_card(*args: Any, **kwargs: Any) -> Any:
        path = _readme(trainer.args.output_dir)
        before = read_model_card_block(trainer.args.output_dir)
        out = original(*args, **kwargs)
        source = create_model_card._wattprint_block  # type: ignore[attr-defined]
        kept = before or (source() if source is not None else None)
        if kept and os.path.exists(path) and read_model_card_block(
                trainer.args.output_dir) != kept:
            _write_block(path, kept)
        return out

    create_model_card._wattprint_keeps_block = True  # type: ignore[attr-defined]
    create_model_card._wattprint_block = block  # type: ignore[attr-defined]
    trainer.create_model_card = create_model_card

