"""What this process may use of the machine: CPUs and memory, as the kernel limits them.

A build or a sync sizes its worker processes from these. The machine's own counts are not
enough in a container: a pod limited to 2 CPUs and 4 GiB on a 32-core, 128 GiB node sees all 32
cores in its affinity and the node's free memory in ``/proc/meminfo``, and processes started for
them are throttled, or killed by the out-of-memory killer. So the limits of the process's control
group (cgroup v2 ``cpu.max`` / ``memory.max``, v1 ``cpu.cfs_quota_us`` /
``memory.limit_in_bytes``), of its own group and every group above it, bound both figures.
A file that is missing or unreadable is no limit: the machine's figure stands.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROC_CGROUP = Path("/proc/self/cgroup")
CGROUP_ROOT = Path("/sys/fs/cgroup")
# cgroup v1 writes "no limit" as the largest page-aligned 64-bit number, not as "max".
_V1_NO_LIMIT = 1 << 60


@dataclass(frozen=True)
class CgroupLimits:
    """The tightest limits of a process's cgroup and its ancestors (None: no limit)."""

    cpus: float | None = None
    memory_available: int | None = None  # bytes left under the memory limit


def usable_cpus() -> int:
    """The CPUs this process may keep busy: its affinity, bounded by its cgroup's CPU quota
    (rounded up: a quota of 1.5 CPUs runs two processes at three quarters each)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity API (macOS, Windows)
        cpus = os.cpu_count() or 1
    quota = cgroup_limits().cpus
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def available_memory() -> int | None:
    """Bytes this process can still use without swapping or being killed: the kernel's
    ``MemAvailable``, bounded by what its cgroup's memory limit leaves; None where neither is
    known."""
    figures = [m for m in (_mem_available(), cgroup_limits().memory_available) if m is not None]
    return min(figures) if figures else None


def _mem_available(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    try:
        with open(meminfo, encoding="ascii") as lines:
            for line in lines:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def cgroup_limits(proc_cgroup: Path | None = None, root: Path | None = None) -> CgroupLimits:
    """The CPU quota and the memory left of the cgroup ``proc_cgroup`` names (default: this
    process's), under the hierarchy mounted at ``root`` (default :data:`CGROUP_ROOT`; v2, or
    v1's ``cpu`` and ``memory`` controllers).

    >>> cgroup_limits(Path("/nonexistent"), Path("/nonexistent"))
    CgroupLimits(cpus=None, memory_available=None)
    """
    proc_cgroup, root = proc_cgroup or PROC_CGROUP, root or CGROUP_ROOT
    try:
        entries = [line.split(":", 2) for line in proc_cgroup.read_text().splitlines()]
    except OSError:
        return CgroupLimits()
    cpus: list[float] = []
    memory: list[int] = []
    for entry in entries:
        if len(entry) != 3:
            continue
        _, controllers, path = entry
        names = controllers.split(",")
        if controllers == "":  # v2: one hierarchy for every controller (hybrid: "unified")
            mount = root if (root / "cgroup.controllers").is_file() else root / "unified"
            for folder in _groups(mount, path):
                cpus += _v2_cpus(folder)
                memory += _left(folder / "memory.max", folder / "memory.current")
        if "cpu" in names:  # v1 mounts "cpu,cpuacct" (and links "cpu" to it) or "cpu" alone
            mount = root / controllers if (root / controllers).is_dir() else root / "cpu"
            for folder in _groups(mount, path):
                cpus += _v1_cpus(folder)
        if "memory" in names:
            for folder in _groups(root / "memory", path):
                memory += _left(folder / "memory.limit_in_bytes", folder / "memory.usage_in_bytes")
    return CgroupLimits(min(cpus) if cpus else None, min(memory) if memory else None)


def _groups(mount: Path, path: str) -> Iterator[Path]:
    """The folders of a cgroup and of its ancestors under ``mount``. In a container the cgroup
    path may name the host's hierarchy while the container sees its own group at the mount's
    root: then only the parts of the path that exist under the mount are read."""
    parts = [p for p in path.strip().split("/") if p and p not in (".", "..")]
    for depth in range(len(parts), -1, -1):
        folder = mount.joinpath(*parts[:depth])
        if folder.is_dir():
            yield folder


def _read(file: Path) -> str | None:
    try:
        return file.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _v2_cpus(folder: Path) -> list[float]:
    text = _read(folder / "cpu.max")  # "<quota> <period>" or "max <period>"
    if text is None:
        return []
    parts = text.split()
    try:
        quota, period = int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return []  # "max": no limit
    return [quota / period] if quota > 0 and period > 0 else []


def _v1_cpus(folder: Path) -> list[float]:
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    try:
        q, p = int(quota or ""), int(period or "")
    except ValueError:
        return []
    return [q / p] if q > 0 and p > 0 else []  # -1: no limit


def _left(limit_file: Path, usage_file: Path) -> list[int]:
    limit, usage = _read(limit_file), _read(usage_file)
    try:
        bound = int(limit or "")
    except ValueError:
        return []  # "max": no limit
    if bound >= _V1_NO_LIMIT:
        return []
    try:
        used = int(usage or "0")
    except ValueError:
        used = 0
    return [max(0, bound - used)]
