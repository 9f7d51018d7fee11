"""The CPUs and memory a build or sync sizes its processes by, bounded by the process's cgroup:
read from cgroup trees written out as the kernel shows them (v2, v1, hybrid, in a container)."""

from __future__ import annotations

from pathlib import Path

import pytest

import meshkit.resources as resources
from meshkit.build import MEMORY_PER_JOB, auto_jobs
from meshkit.config import load_mesh
from meshkit.resources import CgroupLimits, cgroup_limits

REPO = Path(__file__).resolve().parents[3]
GiB = 1 << 30


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text + "\n")
    return root


def _proc(tmp_path: Path, text: str) -> Path:
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(text)
    return proc


def test_v2_takes_the_tightest_of_the_group_and_its_ancestors(tmp_path: Path) -> None:
    root = _tree(tmp_path / "cg", {
        "cgroup.controllers": "cpu memory",
        "cpu.max": "max 100000",
        "kubepods/cpu.max": "400000 100000",  # 4 CPUs for the pods
        "kubepods/pod1/cpu.max": "150000 100000",  # 1.5 for this one
        "kubepods/pod1/memory.max": str(4 * GiB),
        "kubepods/pod1/memory.current": str(1 * GiB),
        "kubepods/memory.max": "max",
    })
    limits = cgroup_limits(_proc(tmp_path, "0::/kubepods/pod1\n"), root)
    assert limits == CgroupLimits(cpus=1.5, memory_available=3 * GiB)


def test_v2_inside_a_container_reads_its_own_group_at_the_mount_root(tmp_path: Path) -> None:
    # The path names the host's hierarchy; the container's namespace mounts its group at the root.
    root = _tree(tmp_path / "cg", {"cgroup.controllers": "cpu memory",
                                   "cpu.max": "200000 100000", "memory.max": str(2 * GiB),
                                   "memory.current": str(GiB // 2)})
    limits = cgroup_limits(_proc(tmp_path, "0::/system.slice/docker-abc.scope\n"), root)
    assert limits == CgroupLimits(cpus=2.0, memory_available=GiB + GiB // 2)


def test_v1_and_hybrid_hierarchies(tmp_path: Path) -> None:
    root = _tree(tmp_path / "cg", {
        "cpu,cpuacct/job/cpu.cfs_quota_us": "300000",
        "cpu,cpuacct/job/cpu.cfs_period_us": "100000",
        "memory/job/memory.limit_in_bytes": str(6 * GiB),
        "memory/job/memory.usage_in_bytes": str(5 * GiB),
        "memory/memory.limit_in_bytes": "9223372036854771712",  # v1's "no limit"
        "unified/cgroup.procs": "",
    })
    proc = _proc(tmp_path, "7:memory:/job\n4:cpu,cpuacct:/job\n0::/\n")
    assert cgroup_limits(proc, root) == CgroupLimits(cpus=3.0, memory_available=GiB)


def test_no_limits_and_unreadable_files_leave_the_machine_figures(tmp_path: Path) -> None:
    root = _tree(tmp_path / "cg", {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000",
                                   "memory/memory.limit_in_bytes": "not a number"})
    proc = _proc(tmp_path, "2:cpu:/\n3:memory:/\nnot a cgroup line\n")
    assert cgroup_limits(proc, root) == CgroupLimits()
    assert cgroup_limits(tmp_path / "missing", root) == CgroupLimits()
    assert cgroup_limits() is not None  # this machine's, whatever it is


def test_a_build_in_a_limited_container_starts_what_the_limits_hold(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mesh build --jobs auto` in a pod whose node has many cores and much free memory: the
    pod's quota and memory limit decide."""
    mesh = load_mesh(REPO / "mesh.yml")
    root = _tree(tmp_path / "cg", {"cgroup.controllers": "cpu memory",
                                   "cpu.max": "100000 100000",  # one CPU
                                   "memory.max": str(64 * GiB), "memory.current": "0"})
    monkeypatch.setattr(resources, "PROC_CGROUP", _proc(tmp_path, "0::/\n"))
    monkeypatch.setattr(resources, "CGROUP_ROOT", root)
    monkeypatch.setattr(resources, "_mem_available", lambda: 100 * GiB)
    assert resources.usable_cpus() == 1 and auto_jobs(mesh, "dev") == 1
    (root / "cpu.max").write_text("800000 100000\n")  # eight CPUs, but memory for one process
    (root / "memory.max").write_text(str(MEMORY_PER_JOB + MEMORY_PER_JOB // 2))
    assert resources.available_memory() == MEMORY_PER_JOB + MEMORY_PER_JOB // 2
    assert auto_jobs(mesh, "dev") == 1
    (root / "memory.max").write_text("max\n")
    assert auto_jobs(mesh, "dev") == min(8, resources.usable_cpus())
