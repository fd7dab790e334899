"""One background thread that reads every sensor and turns readings into energy.

Counters are differenced, power is integrated with the trapezoid rule. Each sensor is
read at its own interval (``Sensor.interval_s``, else the sampler's rate); the thread
sleeps until the next sensor is due, so a run with only slow modelled sensors costs a
wake-up a second. Readings of shared host devices (RAPL package, DRAM) are attributed to
the tracked process tree by its share of the machine's busy CPU time when a CPU-share
source is given, over 1-s windows; such host *counters* are then read once a window too,
as reads in between add nothing that can be attributed. Sensors that know better (NVML
per-process utilisation) put a ``share`` in their readings.

Energy counters that come with a buffered power trace (``sensor.power_trace``, e.g. NVML's
driver-side power samples) are read once every ``COUNTER_INTERVAL_S``: the counter gives
the exact energy, and the trace, fetched with the same read, says when it was spent (one
sample row per ``max(1 / rate_hz, TRACE_ROW_S)`` at most, their energies scaled to the
counter). Reading eight GPUs ten times a second, and storing ten rows a second for each,
cost more CPU than everything else wattprint does.

Phase boundaries (:meth:`Sampler.snapshot`) read every sensor of the sampler's rate,
slowed-down counters included, and close the CPU-time window of host attribution (at most
once per ``BOUNDARY_REFRESH_S``), so phase energies stay exact and use the same shares as
the run's total.

A sensor that fails is never fatal: the gap is recorded, energy across it is bridged
(a counter keeps counting; power is interpolated) and flagged, and after
``max_failures`` consecutive failures its ``fallback()`` replaces it when it has one.

Drive a sampler by hand (tests, your own loop) with ``start(background=False)``,
:meth:`Sampler.step` and :meth:`Sampler.stop`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ._integrate import counter_energy_j, spread_counter_j, trapezoid_energy_j
from ._threadcpu import ThreadCPU
from .errors import SensorReadError, UsageError
from .sensors.base import Reading, Sensor

__all__ = ["Sampler", "SensorTotals", "Snapshot", "counter_energy_j", "trapezoid_energy_j",
           "spread_counter_j", "HOST_DOMAINS", "COUNTER_INTERVAL_S", "TRACE_ROW_S"]

log = logging.getLogger("wattprint")

#: Seconds between reads of the CPU-time counters used to attribute host devices: reading
#: /proc/stat costs ~40-80 µs of kernel time, too much at 10 Hz. Device energy read in
#: between waits in ``pending_j`` and is attributed with the share of its own window.
SHARE_INTERVAL_S = 1.0
#: A slow sensor read more recently than this is extrapolated at a phase boundary.
BOUNDARY_REFRESH_S = 0.05
#: Seconds between reads of an energy counter that has a buffered power trace (phase
#: boundaries read it too): the counter is cumulative, so reading it less often loses no
#: energy, and the trace keeps the time resolution.
COUNTER_INTERVAL_S = 2.0
#: Shortest time between two sample rows taken from a buffered power trace: the ledger
#: keeps at most two rows a second per such device (energies exact, from the counter).
TRACE_ROW_S = 0.5
#: Domains whose device-scope readings are attributed by CPU-time share in process mode.
HOST_DOMAINS = frozenset({"cpu", "dram", "system"})

_INF = float("inf")

SampleSink = Callable[[int, float, float, float], None]
"""``sink(sensor_index, time_s, power_w, energy_j)``: called for every new reading with the
interval power and the sensor's cumulative attributed energy; must be cheap."""


@dataclass(slots=True)
class SensorTotals:
    """Running totals of one sensor (all energies in joules)."""

    energy_j: float = 0.0  # the whole device
    attributed_j: float = 0.0  # the tracked processes' part
    bridged_j: float = 0.0  # part of energy_j that was interpolated across a gap
    power_w: float = 0.0  # power over the last interval (attributed)
    device_power_w: float = 0.0  # power over the last interval (whole device)
    pending_j: float = 0.0  # device energy read since the last CPU-share window closed
    provisional_share: float = 1.0  # share of the last window, applied to pending_j live
    peak_power_w: float = 0.0
    samples: int = 0
    failures: int = 0  # consecutive failures now
    errors: int = 0  # failures over the run
    gaps: list[list[float | None]] = field(default_factory=list)  # [start_s, end_s]
    last_error: str | None = None
    replaced_by: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Cumulative energies of every sensor at one instant (for phase boundaries)."""

    time_s: float
    energy_j: tuple[float, ...]
    attributed_j: tuple[float, ...]


class _Slot:
    """Per-sensor state kept by the sampler."""

    __slots__ = ("index", "counted", "sensor", "totals", "last", "due_s", "interval_s", "host_share",
                 "share_base", "at_boundary", "trace", "trace_at", "trace_left")

    def __init__(self, index: int, sensor: Sensor, period_s: float, host_share: bool) -> None:
        self.index = index
        self.totals = SensorTotals()
        self.last: Reading | None = None
        self.due_s = 0.0
        self.host_share = host_share
        self.share_base: tuple[float, float] | None = None
        self.use(sensor, period_s)

    def use(self, sensor: Sensor, period_s: float) -> None:
        """Take ``sensor`` (at the start, or as a fallback): its interval and trace."""
        self.sensor = sensor
        self.counted = getattr(sensor, "nested_in", None) is None  # summed into totals
        self.interval_s = sensor.interval_s if sensor.interval_s else period_s
        #: read at every phase boundary: sensors of the sampler's rate (slowed or not)
        self.at_boundary = not sensor.interval_s
        trace = getattr(sensor, "power_trace", None)
        self.trace: Callable[[], Sequence[tuple[float, float]]] | None = (
            trace if callable(trace) and not self.host_share else None)
        self.trace_at = -_INF  # when the trace was last fetched
        self.trace_left: list[tuple[float, float]] = []  # fetched points after that read


class Sampler:
    """Reads ``sensors`` on a background thread until :meth:`stop`.

    ``cpu_share_source`` returns ``(tree_cpu_s, machine_busy_cpu_s)``, two cumulative
    CPU-second counters; when given, device-scope host sensors are attributed by the ratio
    of their increments. ``sink`` receives every reading (see :data:`SampleSink`).
    ``threads`` counts the CPU of the sampler's thread with the run's other threads
    (default: a :class:`~wattprint._threadcpu.ThreadCPU` of its own, :attr:`threads`).
    """

    def __init__(self, sensors: Sequence[Sensor], *, rate_hz: float = 10.0,
                 cpu_share_source: Callable[[], tuple[float, float]] | None = None,
                 sink: SampleSink | None = None, max_failures: int = 3,
                 clock: Callable[[], float] = time.monotonic,
                 threads: ThreadCPU | None = None, close_sensors: bool = True) -> None:
        if not (0.0 < rate_hz <= 1000.0):
            raise UsageError(f"rate_hz={rate_hz!r} is out of range; use a rate between 0 "
                             "and 1000 samples per second (default 10)")
        self.rate_hz = float(rate_hz)
        #: False: the sensors given stay open at stop (their owner closes them); a
        #: fallback the sampler opened is closed either way
        self._close_given = close_sensors
        self._given = {id(s) for s in sensors}
        self._period_s = period = 1.0 / self.rate_hz
        self._slots = [
            _Slot(i, s, period,
                  cpu_share_source is not None and s.scope == "device"
                  and s.domain in HOST_DOMAINS)
            for i, s in enumerate(sensors)
        ]
        self._cpu_share_source = cpu_share_source
        self._any_host_share = any(slot.host_share for slot in self._slots)
        self.sink = sink  # settable until start()
        self._max_failures = max(1, int(max_failures))
        self._clock = clock  # the sensors' time base (time.monotonic for real ones)
        self._lock = threading.Lock()
        # Held until stop(): the thread waits on it with a timeout. A bare lock wakes for
        # ~40 µs of CPU here against ~70 µs for Event.wait (a Condition per wait).
        self._stop = threading.Lock()
        self._stop.acquire()
        self._thread: threading.Thread | None = None
        self._running = False
        #: CPU of the sampler's thread and of the other threads counted with it.
        self.threads = threads if threads is not None else ThreadCPU()
        self.start_s: float | None = None
        self.stop_s: float | None = None
        self.peak_power_w = 0.0
        self._share_due_s = 0.0
        self._share_read_s = -_INF  # when the CPU-time counters were last read
        self._next_due_s = 0.0
        #: CPU seconds the sampler thread used, set when it ends (None before).
        self.thread_cpu_s: float | None = None

    # -- public -------------------------------------------------------------------------
    @property
    def sensors(self) -> list[Sensor]:
        return [slot.sensor for slot in self._slots]

    @property
    def totals(self) -> list[SensorTotals]:
        return [slot.totals for slot in self._slots]

    @property
    def intervals_s(self) -> list[float]:
        """Seconds between the scheduled reads of each sensor (set by :meth:`start`)."""
        return [slot.interval_s for slot in self._slots]

    def start(self, *, background: bool = True) -> None:
        """Take the first reading of every sensor and start sampling: on a background
        thread, or with ``background=False`` only when :meth:`step` is called."""
        if self.start_s is not None:
            raise UsageError("this sampler was already started; create a new one per run")
        now = self._clock()
        self.start_s = now
        share = self._cpu_share() if any(s.host_share for s in self._slots) else None
        self._share_due_s = now + SHARE_INTERVAL_S
        self._share_read_s = now
        for slot in self._slots:
            self._first_read(slot, share)
            self._schedule(slot)
            slot.due_s = now + slot.interval_s
        self._next_due_s = min((slot.due_s for slot in self._slots), default=now + 1.0)
        self._running = True
        if background:
            self._thread = self.threads.start(self._loop, "wattprint-sampler")

    def _schedule(self, slot: _Slot) -> None:
        """Slow down cumulative sensors of the sampler's rate whose reads in between would
        add nothing but cost: a shared host counter in process mode (RAPL package, DRAM) is
        attributed per CPU-share window, so it is read with the window; a counter with a
        buffered power trace (NVML) gets its time resolution from the trace. Phase
        boundaries still read both, and a counter loses nothing between reads."""
        if not slot.at_boundary or slot.last is None or slot.last.energy_j is None:
            return
        if slot.host_share:
            slot.interval_s = max(slot.interval_s, SHARE_INTERVAL_S)
        elif slot.trace is not None:
            slot.interval_s = max(slot.interval_s, COUNTER_INTERVAL_S)

    def step(self, now: float | None = None) -> None:
        """One tick of the sampler at time ``now`` (default: its clock): read the sensors
        due by then, as the background thread does. For a sampler started with
        ``background=False`` (tests, a loop of your own)."""
        if not self._running:
            raise UsageError("step() needs a running sampler: call start(background=False) "
                             "first (and not after stop())")
        with self._lock:
            self._tick(False, self._clock() if now is None else now)

    def stop(self) -> None:
        """Stop sampling after a final read of every sensor. Safe to call twice."""
        if not self._running:
            return
        self._running = False
        hung = False
        if self._thread is not None:
            self._stop.release()
            self._thread.join(timeout=5.0)
            hung = self._thread.is_alive()
        if hung:  # pragma: no cover - a sensor hung in a vendor call
            log.error("wattprint: sampler thread did not stop within 5 s; a sensor read "
                      "is hanging. Totals stop at the last completed read.")
        else:
            with self._lock:
                self._tick(True)
        for slot in self._slots:  # a window the last CPU-time read could not close
            t = slot.totals
            t.attributed_j += t.pending_j * t.provisional_share
            t.pending_j = 0.0
        self.stop_s = self._clock()
        for slot in self._slots:
            if not self._close_given and id(slot.sensor) in self._given:
                continue
            try:
                slot.sensor.close()
            except Exception as err:  # noqa: BLE001 - closing must never raise into the user
                log.warning("wattprint: closing sensor %s failed: %s", slot.sensor.name, err)

    def snapshot(self) -> Snapshot:
        """Cumulative energies now, for a phase boundary. Sensors of the sampler's rate
        are read (counters read less often between boundaries included), so a phase's
        energy is exact; a slow (interval) sensor is read too unless it was read in the
        last ``BOUNDARY_REFRESH_S``, in which case it is extrapolated from its last
        interval power. Consecutive phases share the boundary value, so they always sum
        to the run, and thousands of boundaries a second cost no more than 20 slow reads."""
        with self._lock:
            now = self._clock()
            if self._running:
                self._tick(False, now, [
                    slot for slot in self._slots
                    if slot.at_boundary or slot.last is None
                    or now - slot.last.time_s > BOUNDARY_REFRESH_S])
            energy, attributed = [], []
            for slot in self._slots:
                t = slot.totals
                dt = 0.0
                if slot.last is not None and now > slot.last.time_s and self.stop_s is None:
                    dt = now - slot.last.time_s
                energy.append(t.energy_j + t.device_power_w * dt)
                attributed.append(t.attributed_j + t.pending_j * t.provisional_share
                                  + t.power_w * dt)
            return Snapshot(now, tuple(energy), tuple(attributed))

    # -- the thread ---------------------------------------------------------------------
    def _loop(self) -> None:
        # Locals and a precomputed deadline: on a VM every wake-up finds the caches cold,
        # and each attribute lookup or generator here costs microseconds, ten times a second.
        acquire, clock, lock, tick = self._stop.acquire, self._clock, self._lock, self._tick
        while True:
            wait = self._next_due_s - clock()
            if acquire(timeout=wait if wait > 0.0 else 0.0):
                self.thread_cpu_s = time.thread_time()  # this thread's own CPU clock
                return
            try:
                with lock:
                    tick(False)
            except Exception:  # noqa: BLE001 - never let the sampler die silently
                log.exception("wattprint: unexpected error in the sampler; continuing")

    def _cpu_share(self) -> tuple[float, float] | None:
        if self._cpu_share_source is None:
            return None
        try:
            return self._cpu_share_source()
        except Exception as err:  # noqa: BLE001
            log.warning("wattprint: could not read CPU time for attribution: %s", err)
            return None

    def _tick(self, force: bool, now: float | None = None,
              only: list[_Slot] | None = None) -> None:
        """Read the sensors that are due (all with ``force``; those in ``only`` for a phase
        boundary, which leaves their schedule and power traces alone). One pass over the
        slots: this runs ten times a second with cold caches, where every extra loop or
        frame shows."""
        now = self._clock() if now is None else now
        share: tuple[float, float] | None = None
        boundary = only is not None
        # A phase boundary closes the CPU-time window too (unless it was closed in the
        # last BOUNDARY_REFRESH_S): host energy is then attributed with the share of the
        # time up to the boundary, so phases and the run use the same shares and a
        # phase never comes out above the run.
        share_read = not (self._any_host_share and (
            force or now >= self._share_due_s
            or (boundary and now - self._share_read_s > BOUNDARY_REFRESH_S)))
        read = self._read
        total_power = 0.0
        next_due = _INF
        for slot in (self._slots if only is None else only):
            if boundary or force or slot.due_s <= now:
                if slot.host_share and not share_read:
                    share = self._cpu_share()
                    self._share_due_s = now + SHARE_INTERVAL_S
                    self._share_read_s = now
                    share_read = True
                read(slot, share, boundary)
                if not boundary:
                    due = slot.due_s + slot.interval_s
                    slot.due_s = due if due > now else now
            if slot.due_s < next_due:
                next_due = slot.due_s
            if slot.counted:
                total_power += slot.totals.power_w
        if boundary:  # a boundary read a subset: the peak and deadline need all
            total_power = sum(slot.totals.power_w for slot in self._slots if slot.counted)
            next_due = min((slot.due_s for slot in self._slots), default=now + 1.0)
        self._next_due_s = next_due if self._slots else now + 1.0
        if total_power > self.peak_power_w:
            self.peak_power_w = total_power

    def _first_read(self, slot: _Slot, share: tuple[float, float] | None) -> None:
        try:
            slot.last = _check_reading(slot.sensor.read())
            slot.share_base = share
        except Exception as err:  # noqa: BLE001
            self._failed(slot, err, self._clock())

    def _read(self, slot: _Slot, share: tuple[float, float] | None,
              boundary: bool = False) -> None:
        try:
            reading = slot.sensor.read()
            _check_reading(reading)
        except Exception as err:  # noqa: BLE001
            self._failed(slot, err, self._clock())
            return
        t = slot.totals
        if t.failures:
            t.failures = 0
            if t.gaps and t.gaps[-1][1] is None:
                t.gaps[-1][1] = reading.time_s
                log.warning("wattprint: sensor %s recovered", slot.sensor.name)
        prev = slot.last
        slot.last = reading
        if prev is None:  # first good reading (after a failed first read or a fallback)
            if share is not None:
                slot.share_base = share
            self._schedule(slot)
            return
        time_s, energy_j, power_w, own_share = reading
        dt = time_s - prev[0]
        if dt <= 0.0:
            return
        prev_j = prev[1]
        if energy_j is not None and prev_j is not None:
            # a counter that went back (reset by a driver reload) adds nothing
            delta = energy_j - prev_j if energy_j >= prev_j else 0.0
        elif power_w is not None:
            prev_w = prev[2]
            delta = trapezoid_energy_j(power_w if prev_w is None else prev_w, power_w, dt)
            if t.gaps and t.gaps[-1][1] == time_s:
                t.bridged_j += delta
        else:
            return
        t.energy_j += delta
        if own_share is not None:
            fraction = 0.0 if own_share < 0.0 else 1.0 if own_share > 1.0 else own_share
            t.attributed_j += delta * fraction
        elif slot.host_share:
            fraction = self._attribute_host(slot, delta, share)
        else:
            fraction = 1.0
            t.attributed_j += delta
        t.device_power_w = delta / dt
        power = t.power_w = delta * fraction / dt
        if power > t.peak_power_w:
            t.peak_power_w = power
        t.samples += 1
        sink = self.sink
        # The trace is fetched at every scheduled read, and at a boundary read unless it
        # was fetched less than 1 / rate_hz ago (thousands of boundaries a second).
        if slot.trace is not None and delta > 0.0 and (
                not boundary or time_s - slot.trace_at >= self._period_s):
            prev_t = self._trace_rows(slot, prev[0], time_s, delta, fraction, sink)
            if prev_t is not None:  # the reading's row covers the time since the last one
                power = (t.attributed_j - prev_t[1]) / (time_s - prev_t[0])
                if power > t.peak_power_w:
                    t.peak_power_w = power
        if sink is not None:
            try:
                sink(slot.index, time_s, power, t.attributed_j)
            except Exception as err:  # noqa: BLE001
                log.warning("wattprint: sample sink failed: %s", err)

    def _trace_rows(self, slot: _Slot, t0_s: float, t1_s: float, delta_j: float,
                    fraction: float, sink: SampleSink | None) -> tuple[float, float] | None:
        """Sample rows inside a counter's interval from the sensor's buffered power trace
        (at most one per ``max(1 / rate_hz, TRACE_ROW_S)``); returns the last row's (time, cumulative
        attributed energy), or None when the trace had nothing for this interval."""
        slot.trace_at = t1_s
        try:
            points = slot.trace_left + list(slot.trace())  # type: ignore[misc]
        except Exception as err:  # noqa: BLE001 - the trace is extra: energy is the counter's
            log.warning("wattprint: power trace of %s failed: %s", slot.sensor.name, err)
            return None
        # points sampled after this read (between it and the fetch) belong to the next one
        slot.trace_left = [point for point in points if point[0] > t1_s]
        rows = spread_counter_j(t0_s, t1_s, delta_j, points,
                                max(self._period_s, TRACE_ROW_S))
        if not rows:
            return None
        t = slot.totals
        base_j = t.attributed_j - delta_j * fraction  # before this interval
        last_t, last_j = t0_s, 0.0
        for row_t, row_j in rows:
            power = (row_j - last_j) * fraction / (row_t - last_t)
            if power > t.peak_power_w:
                t.peak_power_w = power
            t.samples += 1
            if sink is not None:
                try:
                    sink(slot.index, row_t, power, base_j + row_j * fraction)
                except Exception as err:  # noqa: BLE001
                    log.warning("wattprint: sample sink failed: %s", err)
            last_t, last_j = row_t, row_j
        return last_t, base_j + last_j * fraction

    def _attribute_host(self, slot: _Slot, delta: float,
                        share: tuple[float, float] | None) -> float:
        """Attribute a host device's energy by the tree's share of busy CPU time. Energy
        waits in ``pending_j`` until the CPU-time window it belongs to closes, and is then
        attributed with that window's share; returns the share to use for live power."""
        t = slot.totals
        t.pending_j += delta
        if share is None or slot.share_base is None:
            if share is not None:
                slot.share_base = share
            return t.provisional_share
        d_tree = share[0] - slot.share_base[0]
        d_busy = share[1] - slot.share_base[1]
        fraction = min(max(d_tree / d_busy, 0.0), 1.0) if d_busy > 0 else 0.0
        t.attributed_j += t.pending_j * fraction
        t.pending_j = 0.0
        t.provisional_share = fraction
        slot.share_base = share
        return fraction

    def _failed(self, slot: _Slot, err: BaseException, now: float) -> None:
        t = slot.totals
        t.failures += 1
        t.errors += 1
        t.last_error = f"{type(err).__name__}: {err}"
        if t.failures == 1:
            start = slot.last.time_s if slot.last is not None else now
            t.gaps.append([start, None])
            log.warning("wattprint: sensor %s failed to read (%s); marking a gap",
                        slot.sensor.name, t.last_error)
        if t.failures >= self._max_failures:
            replacement = None
            try:
                replacement = slot.sensor.fallback()
            except Exception as ferr:  # noqa: BLE001
                log.warning("wattprint: fallback for %s failed: %s", slot.sensor.name, ferr)
            if replacement is not None:
                log.warning("wattprint: sensor %s keeps failing; switching to %s",
                            slot.sensor.name, replacement.name)
                t.replaced_by = replacement.name
                old = slot.sensor
                slot.use(replacement, self._period_s)
                try:
                    old.close()
                except Exception:  # noqa: BLE001
                    pass
                # Bridge the gap to the replacement's first reading with the last known
                # power, flagged as bridged.
                last, slot.last = slot.last, None
                self._first_read(slot, self._cpu_share() if slot.host_share else None)
                self._schedule(slot)
                end = slot.last.time_s if slot.last is not None else now
                if last is not None:
                    gap_s = max(end - last.time_s, 0.0)
                    t.energy_j += t.device_power_w * gap_s
                    t.attributed_j += t.power_w * gap_s
                    t.bridged_j += t.device_power_w * gap_s
                if slot.last is not None:
                    t.failures = 0
                    if t.gaps and t.gaps[-1][1] is None:
                        t.gaps[-1][1] = end


def _check_reading(reading: Reading) -> Reading:
    """``reading``, or :class:`SensorReadError` (reason ``invalid``) when its energy is NaN
    or infinite or its power is NaN, infinite or negative: a driver's garbage is a failed
    read (a gap, bridged), never a figure. (A cumulative energy may go back: a counter
    reset, handled where deltas are taken.)"""
    energy_j, power_w = reading[1], reading[2]
    if (energy_j is not None and not -_INF < energy_j < _INF) or (
            power_w is not None and not 0.0 <= power_w < _INF):
        raise SensorReadError(f"the sensor returned energy_j={energy_j!r}, "
                              f"power_w={power_w!r}", source="sampler", reason="invalid")
    return reading


_INF = float("inf")
