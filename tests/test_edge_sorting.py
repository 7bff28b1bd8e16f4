"""edge.run.sorting: never overwrite, never escape DIR, move never loses a file."""

import os

import pytest

from edge.errors import EdgeError
from edge.run.sorting import Sorter, safe_component


def _file(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("mode", ["copy", "move", "link"])
def test_same_name_twice_gets_a_suffix_and_nothing_is_overwritten(tmp_path, mode):
    first = _file(tmp_path / "in" / "a" / "photo.jpg", "first")
    second = _file(tmp_path / "in" / "b" / "photo.jpg", "second")
    out = tmp_path / "out"
    _file(out / "cats" / "photo-1.jpg", "already there")
    sorter = Sorter(out, mode)
    one = sorter.place(first, "cats")
    two = sorter.place(second, "cats")
    assert one.target == (out / "cats" / "photo.jpg").resolve()
    assert two.target == (out / "cats" / "photo-2.jpg").resolve()
    assert one.target.read_text() == "first" and two.target.read_text() == "second"
    assert (out / "cats" / "photo-1.jpg").read_text() == "already there"
    assert first.exists() == (mode != "move") and second.exists() == (mode != "move")


def test_labels_and_names_cannot_escape(tmp_path):
    source = _file(tmp_path / "in" / "x.jpg", "x")
    out = tmp_path / "out"
    sorter = Sorter(out, "copy")
    for label in ("../../evil", "/etc", "..", ".", "a/../../b", ""):
        placed = sorter.place(source, label)
        assert placed.target.is_relative_to(out.resolve()), label
        assert placed.target.parent.parent == out.resolve()
    assert {p.name for p in tmp_path.iterdir()} == {"in", "out"}
    assert safe_component("..") == "_" and safe_component("a/b") == "a_b"


def test_label_folder_symlinked_outside_is_refused(tmp_path):
    source = _file(tmp_path / "in" / "x.jpg", "x")
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "cats").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(EdgeError, match="outside"):
        Sorter(out, "copy").place(source, "cats")
    assert not list((tmp_path / "elsewhere").iterdir())


def test_dry_run_touches_nothing_but_plans_distinct_names(tmp_path):
    a = _file(tmp_path / "in" / "1" / "p.jpg", "1")
    b = _file(tmp_path / "in" / "2" / "p.jpg", "2")
    sorter = Sorter(tmp_path / "out", "move", dry_run=True)
    targets = [sorter.place(a, "dogs").target, sorter.place(b, "dogs").target]
    assert [t.name for t in targets] == ["p.jpg", "p-1.jpg"]
    assert not (tmp_path / "out").exists() and a.exists() and b.exists()


def test_move_across_devices_copies_before_removing(tmp_path, monkeypatch):
    source = _file(tmp_path / "in" / "p.jpg", "data")

    def no_link(src, dst, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    removed_while_target_missing = []
    real_unlink = os.unlink

    def checked_unlink(path, *args, **kwargs):
        if str(path) == str(source):
            removed_while_target_missing.append(not (tmp_path / "out" / "cats" / "p.jpg").exists())
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", checked_unlink)
    placed = Sorter(tmp_path / "out", "move").place(source, "cats")
    assert placed.target.read_text() == "data" and not source.exists()
    assert removed_while_target_missing == [False]


def test_link_mode_falls_back_to_a_symlink(tmp_path, monkeypatch):
    source = _file(tmp_path / "in" / "p.jpg", "data")
    monkeypatch.setattr(os, "link", lambda s, d, **k: (_ for _ in ()).throw(OSError(18, "x")))
    placed = Sorter(tmp_path / "out", "link").place(source, "cats")
    assert placed.target.is_symlink() and placed.target.read_text() == "data"
