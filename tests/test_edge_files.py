"""edge.run.files: streamed discovery, skipped non-images, loops, and --watch polling."""

import os
import threading
import time

import pytest

from edge.errors import EdgeError
from edge.run.files import FileWalker, looks_like_image, signature, watch
from tests.edge_helpers import save, solid


def _tree(root):
    save(solid((1, 1, 1)), root / "b.jpg")
    save(solid((1, 1, 1)), root / "a.png")
    save(solid((1, 1, 1)), root / "no-extension", format="PNG")
    save(solid((1, 1, 1)), root / "sub" / "deeper" / "c.webp")
    (root / "notes.txt").write_text("hello")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "sub" / "data.json").write_text("{}")
    save(solid((1, 1, 1)), root / ".hidden" / "d.jpg")
    return root


def test_recursive_walk_is_sorted_and_counts_skipped(tmp_path):
    _tree(tmp_path)
    walker = FileWalker([tmp_path])
    names = [p.relative_to(tmp_path).as_posix() for p in walker]
    assert names == ["a.png", "b.jpg", "no-extension", "sub/deeper/c.webp"]
    assert walker.skipped == 3


def test_no_recursive_and_explicit_files(tmp_path):
    _tree(tmp_path)
    flat = [p.name for p in FileWalker([tmp_path], recursive=False)]
    assert flat == ["a.png", "b.jpg", "no-extension"]
    explicit = list(FileWalker([tmp_path / "notes.txt", tmp_path / "sub"]))
    assert [p.name for p in explicit] == ["notes.txt", "c.webp"]


def test_folder_symlink_loops_terminate_and_exclude_works(tmp_path):
    _tree(tmp_path)
    (tmp_path / "sub" / "back").symlink_to(tmp_path, target_is_directory=True)
    names = [p.name for p in FileWalker([tmp_path])]
    assert sorted(names) == ["a.png", "b.jpg", "c.webp", "no-extension"]
    assert [p.name for p in FileWalker([tmp_path], exclude=[tmp_path / "sub"])] == [
        "a.png", "b.jpg", "no-extension"]


def test_looping_symlink_with_image_name_is_yielded(tmp_path):
    (tmp_path / "loop.jpg").symlink_to("loop.jpg")
    assert [p.name for p in FileWalker([tmp_path])] == ["loop.jpg"]


def test_pipes_are_never_opened_while_walking(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    os.mkfifo(tmp_path / "pipe.jpg")
    walker = FileWalker([tmp_path])
    assert [p.name for p in walker] == ["pipe.jpg"] and walker.skipped == 1


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(EdgeError, match="no such file"):
        list(FileWalker([tmp_path / "nope"]))


def test_signatures(tmp_path):
    webp = save(solid((1, 2, 3)), tmp_path / "x", format="WEBP")
    assert looks_like_image(webp)
    (tmp_path / "t").write_text("GIF? no")
    assert not looks_like_image(tmp_path / "t")


def test_watch_yields_a_new_file_once_it_is_stable(tmp_path):
    save(solid((1, 1, 1)), tmp_path / "old.jpg")
    stop = threading.Event()
    found = []

    def consume():
        old = tmp_path / "old.jpg"
        for path in watch([tmp_path], {str(old): signature(old)}, stop, interval=0.05):
            found.append(path.name)

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.2)
    save(solid((1, 1, 1)), tmp_path / "new.jpg")
    deadline = time.monotonic() + 5
    while not found and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(5)
    assert found == ["new.jpg"] and not thread.is_alive()
