"""Cold-import probes: each statement timed inside a fresh interpreter, many times, interleaved.

Every probe is ``python -c`` running ``[setup]; t0 = perf_counter(); <statement>; t1 = perf_counter()`` and
reporting ``t1 - t0``, the process's peak RSS (``ru_maxrss``) and current RSS (``VmRSS``); the
interpreter's own start-up is outside the timed span (and is reported separately as the wall time
of ``python -c pass``). Bytecode: the environment sets ``PYTHONDONTWRITEBYTECODE=1``, which would
make every probe recompile every module it imports. The probes run with that variable removed and
``PYTHONPYCACHEPREFIX`` pointing at a temporary directory, after warm-up runs that fill it, so the
repository's own tree gets no ``__pycache__`` and the numbers measure importing, not compiling.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from _common import median

PROBE = """\
import time
{setup}
_t0 = time.perf_counter()
{stmt}
_t1 = time.perf_counter()
import resource
_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
_cur = 0
with open("/proc/self/status") as _f:
    for _line in _f:
        if _line.startswith("VmRSS:"):
            _cur = int(_line.split()[1])
print("PROBE", _t1 - _t0, _peak, _cur)
"""


@dataclass
class Probe:
    label: str
    stmt: str
    setup: str = ""  # run before the timed statement (so the probe times an increment)
    seconds: list[float] = field(default_factory=list)
    peak_kb: list[int] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def ms(self) -> float:
        return median(self.seconds) * 1e3

    @property
    def peak_mb(self) -> float:
        return median([float(v) for v in self.peak_kb]) / 1024

    @property
    def rss_mb(self) -> float:
        return median([float(v) for v in self.rss_kb]) / 1024


def probe_env(pycache: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _run_once(probe: Probe, env: Mapping[str, str]) -> tuple[float, int, int] | None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(stmt=probe.stmt, setup=probe.setup)],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("PROBE "):
            _, secs, peak, cur = line.split()
            return float(secs), int(peak), int(cur)
    probe.error = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
    return None


def run_probes(
    probes: Sequence[Probe], env: Mapping[str, str], rounds: int = 7, warm: int = 1
) -> None:
    """``warm`` untimed runs of each probe (they fill the bytecode cache), then ``rounds``
    interleaved timed rounds with the order rotated each round."""
    for probe in probes:
        for _ in range(warm):
            if _run_once(probe, env) is None:
                break
    live = [p for p in probes if p.error is None]
    for r in range(rounds):
        k = r % len(live) if live else 0
        for probe in live[k:] + live[:k]:
            got = _run_once(probe, env)
            if got is not None:
                probe.seconds.append(got[0])
                probe.peak_kb.append(got[1])
                probe.rss_kb.append(got[2])


def startup_ms(env: Mapping[str, str], runs: int = 7) -> float:
    """Median wall time of ``python -c pass`` (interpreter start-up, for context)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=dict(env), check=True)
        times.append(time.perf_counter() - t0)
    return median(times) * 1e3


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def _importtime(stmt: str, env: Mapping[str, str]) -> dict[str, float]:
    """module -> self import time (ms) from one ``python -X importtime -c stmt`` run."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if m:
            out[m.group(4)] = int(m.group(1)) / 1e3
    return out


def import_extra(
    stmt: str, baseline: str, env: Mapping[str, str], runs: int = 3
) -> tuple[int, list[tuple[str, float]]]:
    """Modules ``stmt`` imports that ``baseline`` does not: (how many, self ms summed per
    top-level package, largest first; median over ``runs`` runs)."""
    base = set(_importtime(baseline, env))
    samples = [_importtime(stmt, env) for _ in range(runs)]
    extra = [m for m in samples[0] if m not in base]
    totals: dict[str, list[float]] = {}
    for sample in samples:
        per: dict[str, float] = {}
        for mod in extra:
            pkg = mod.split(".", 1)[0]
            per[pkg] = per.get(pkg, 0.0) + sample.get(mod, 0.0)
        for pkg, ms in per.items():
            totals.setdefault(pkg, []).append(ms)
    ranked = sorted(((k, median(v)) for k, v in totals.items()), key=lambda kv: -kv[1])
    return len(extra), ranked


def importtime_by_package(
    stmt: str, env: Mapping[str, str], top: int = 6
) -> list[tuple[str, float]]:
    """Self time of ``stmt``'s imports summed per top-level package (ms), largest first, from
    one ``python -X importtime`` run (bytecode already cached)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    totals: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if m:
            pkg = m.group(4).split(".", 1)[0]
            totals[pkg] = totals.get(pkg, 0.0) + int(m.group(1)) / 1e3
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]
