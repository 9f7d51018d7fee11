"""The list of secure views the last sync withheld from `mesh query`: written atomically, kept
whole while a sync is on its way, and failing closed when it cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshkit.backends.duckdb import withheld
from meshkit.errors import UsageError


def _held(view: str) -> withheld.Withheld:
    return withheld.Withheld(view, view, "personal_data.by_lineage", f"column x of {view}",
                             "classify `x`")


def test_a_sync_on_its_way_keeps_what_the_last_one_withheld(tmp_path: Path) -> None:
    assert withheld.read(tmp_path) == {}  # no sync yet: nothing withheld
    withheld.write(tmp_path, [_held("d.p.a")])
    # Before the commit: the last sync's entries stay beside this one's.
    withheld.write(tmp_path, [_held("d.p.b")], keep=lambda _: True)
    assert sorted(withheld.read(tmp_path)) == ["d.p.a", "d.p.b"]
    # After it: as this sync found, and what it keeps (a domain it could not read).
    withheld.write(tmp_path, [_held("d.p.b"), _held("e.p.c")], keep=lambda w: w.view == "d.p.a")
    assert sorted(withheld.read(tmp_path)) == ["d.p.a", "d.p.b", "e.p.c"]
    withheld.write(tmp_path, [_held("d.p.b")])
    assert sorted(withheld.read(tmp_path)) == ["d.p.b"]
    refusal = withheld.read(tmp_path)["d.p.b"].refusal()
    assert "reads d.p.b, which the last mesh-sync withheld" in refusal.message
    assert refusal.exit_code == 2


@pytest.mark.parametrize("content", [b"{", b"[]", b'{"format": 2, "views": []}',
                                     b'{"format": 1, "views": [{"view": "d.p.a"}]}'])
def test_a_list_that_cannot_be_read_withholds_everything(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / withheld.WITHHELD_FILE
    path.write_bytes(content)
    with pytest.raises(UsageError) as exc:
        withheld.read(tmp_path)
    assert exc.value.file == path and "mesh-sync" in str(exc.value.fix)
    # A sync on its way leaves such a file as it is (it still refuses every query) ...
    withheld.write(tmp_path, [_held("d.p.a")], keep=lambda _: True)
    assert path.read_bytes() == content
    # ... and the committed sync writes it anew.
    withheld.write(tmp_path, [_held("d.p.a")])
    assert list(withheld.read(tmp_path)) == ["d.p.a"]
