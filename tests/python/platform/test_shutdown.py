"""The scripts end without tearing down the interpreter (meshkit.shutdown): what a normal exit
does that matters still happens."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_leave_runs_the_exit_handlers_and_flushes_the_output(tmp_path: Path) -> None:
    proc = _python("""
        import atexit, logging, sys
        from meshkit.shutdown import leave
        logging.basicConfig(filename="run.log", level=logging.INFO)
        logging.info("logged to a file")
        atexit.register(lambda: open("handler-ran", "w").close())
        sys.stdout.write("no newline, still buffered")
        leave(3)
    """, tmp_path)
    assert proc.returncode == 3
    assert proc.stdout == "no newline, still buffered"
    assert "logged to a file" in (tmp_path / "run.log").read_text()
    assert (tmp_path / "handler-ran").exists()


def test_leave_waits_for_a_running_thread_and_exits_as_sys_exit_would(tmp_path: Path) -> None:
    proc = _python("""
        import threading, time
        from meshkit.shutdown import leave
        def later():
            time.sleep(0.3)
            open("thread-done", "w").close()
        threading.Thread(target=later).start()
        leave("a message instead of a code")
    """, tmp_path)
    assert (tmp_path / "thread-done").exists()
    assert proc.returncode == 1 and "a message instead of a code" in proc.stderr
    assert _python("from meshkit.shutdown import leave; leave(None)", tmp_path).returncode == 0


def test_the_mesh_script_keeps_its_exit_codes_and_output(tmp_path: Path) -> None:
    mesh = Path(sys.executable).parent / "mesh"
    ok = subprocess.run([str(mesh), "--version"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "meshkit, version" in ok.stdout
    bad = subprocess.run([str(mesh), "catalog", "list", "--mesh", str(tmp_path / "none.yml")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "mesh file not found" in bad.stderr
    usage = subprocess.run([str(mesh), "no-such-command"], capture_output=True, text=True,
                           timeout=60)
    assert usage.returncode == 2 and "No such command" in usage.stderr
