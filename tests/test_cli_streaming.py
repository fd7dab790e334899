"""``runs --all`` and ``export --what runs`` stream the ledger: the same output as the
all-in-memory way of building it, a run at a time."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest

import wattprint
from _cli import wp
from wattprint.cli import _runs, main
from wattprint.cli._common import table
from wattprint.ledger import Ledger
from wattprint.ledger import _query
from wattprint.testing import FakeSensor


@pytest.fixture()
def ledger_path(tmp_path, monkeypatch):
    """A ledger of 7 runs: tags, counters, a project, an unnamed and a failed run."""
    path = tmp_path / "ledger.db"
    monkeypatch.setattr(_query, "CHUNK_RUNS", 3)  # several chunks even here (in-process)
    for k in range(7):
        run = wattprint.Tracker(None if k == 3 else f"run {k} ünïcode" + "x" * (k * 9),
                                sensors=[FakeSensor(10.0 * (k + 1))], ledger=path,
                                project="p" if k % 2 else None,
                                tags=["a", f"t{k}"] if k % 3 else ())
        run.start()
        if k == 2:
            with run.phase("train"):
                run.count(tokens=100 * k + 1, steps=k)
        elif k != 5:
            run.count(tokens=100 * k + 1, steps=k)
        run.stop(exit_code=1 if k == 4 else 0)
    return path


def listing(path, **options):
    with Ledger(path) as ledger:
        return ledger.runs(**options)


def test_export_runs_streamed_equals_run_by_run(ledger_path) -> None:
    ids = [r.id for r in listing(ledger_path, descending=False)]
    for fmt in ("csv", "jsonl"):
        streamed = wp(ledger_path.parent, "export", "--what", "runs", "--format", fmt)
        by_id = wp(ledger_path.parent, "export", "--what", "runs", "--format", fmt, *ids)
        assert streamed.returncode == 0 and by_id.returncode == 0, streamed.stderr
        assert streamed.stdout == by_id.stdout  # each run read in full with ledger.get
        assert streamed.stdout.count("\n") == 7 + (fmt == "csv")
    rows = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert [r["count_tokens"] for r in rows] == [1, 101, 201, 301, 401, None, 601]


def test_export_phases_without_ids_streams_the_run_list(ledger_path) -> None:
    ids = [r.id for r in listing(ledger_path, descending=False)]
    streamed = wp(ledger_path.parent, "export", "--what", "devices")
    assert streamed.stdout == wp(ledger_path.parent, "export", "--what", "devices",
                                 *ids).stdout
    assert streamed.stdout.count("\n") == 1 + 7


def test_iter_runs_with_counters_reads_what_get_reads(ledger_path) -> None:
    with Ledger(ledger_path) as ledger:
        streamed = list(ledger.iter_runs(counters=True))
        assert [r.counters for r in streamed] == [ledger.get(r.id).counters
                                                  for r in streamed]
        assert [r.id for r in streamed] == [r.id for r in ledger.runs()]


def test_runs_all_table_streamed_equals_the_whole_table(ledger_path, capsys,
                                                        monkeypatch) -> None:
    proc = wp(ledger_path.parent, "runs", "--all")
    assert proc.returncode == 0, proc.stderr
    records = listing(ledger_path, per_job=True)
    expected = table(_runs.HEADERS, [_runs._row(r, None) for r in records],
                     right=_runs.RIGHT)
    assert proc.stdout == "\n".join(expected) + "\n"
    monkeypatch.setattr(_runs, "SPOOL_ROWS", 3)  # rows go through the spool in batches
    capsys.readouterr()
    assert main(["--ledger", str(ledger_path), "runs", "--all"]) == 0
    assert capsys.readouterr().out == proc.stdout
    limited = wp(ledger_path.parent, "runs", "-n", "2")
    assert limited.stdout.splitlines() == table(
        _runs.HEADERS, [_runs._row(r, None) for r in records[:2]], right=_runs.RIGHT) + [
        "(2 of 7 runs; --all or -n N to see more)"]


def test_runs_json_streamed_is_the_same_text_as_one_dump(ledger_path) -> None:
    records = listing(ledger_path, per_job=True)
    out = io.StringIO()
    with redirect_stdout(out):
        _runs._print_json(iter(records), {})
    dicts = []
    for r in records:
        d = r.to_dict()
        for key in ("devices", "phases", "counters", "per_unit"):
            d.pop(key)
        dicts.append(d)
    assert out.getvalue() == json.dumps(dicts, indent=1, default=str) + "\n"
    empty = io.StringIO()
    with redirect_stdout(empty):
        _runs._print_json(iter(()), {})
    assert empty.getvalue() == json.dumps([], indent=1) + "\n"
    proc = wp(ledger_path.parent, "runs", "--all", "--json")
    assert [d["id"] for d in json.loads(proc.stdout)] == [r.id for r in records]


def test_record_to_dict_is_asdict_without_its_copies(ledger_path) -> None:
    from dataclasses import asdict

    with Ledger(ledger_path) as ledger:
        records = [ledger.get(r.id) for r in ledger.runs()]
    assert any(r.devices and r.phases and r.counters for r in records)
    for r in records:
        expected = asdict(r)
        expected.pop("rid")
        expected.update(mean_power_w=r.mean_power_w, per_unit=r.per_unit)
        for p, obj in zip(expected["phases"], r.phases):
            p["per_unit"] = obj.per_unit
        got = r.to_dict()
        assert got == expected
        assert json.dumps(got, default=str) == json.dumps(expected, default=str)
        got["settings"]["changed"] = 1  # a copy: the record is untouched
        assert "changed" not in r.settings


def test_listing_dict_is_to_dict_without_the_detail(ledger_path) -> None:
    """``runs --json`` builds each run's dict without its devices, phases and counters
    (never made, then dropped): the same keys, values and order as ``to_dict`` less them."""
    with Ledger(ledger_path) as ledger:
        records = [ledger.get(r.id) for r in ledger.runs()]
    assert any(r.devices and r.phases and r.counters for r in records)
    for r in records:
        full = r.to_dict()
        for key in ("devices", "phases", "counters", "per_unit"):
            full.pop(key)
        got = r.listing_dict()
        assert list(got) == list(full) and got == full
        assert json.dumps(got, indent=1, default=str) == json.dumps(full, indent=1,
                                                                    default=str)
