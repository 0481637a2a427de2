"""core/files.py write_atomically: the one way the project replaces a file (reports, models, the BI copy);
write_files_atomically: many files at once (the weekly reports)."""

import os
import subprocess
import sys
import textwrap

import duckdb
import pytest

from social_pipeline.core.files import write_atomically, write_files_atomically


def test_text_bytes_and_writer_replace_the_file(tmp_path):
    target = tmp_path / "new" / "folder" / "report.md"
    assert write_atomically(target, "a & b <é>\n") == target
    assert target.read_bytes() == "a & b <é>\n".encode()
    write_atomically(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    write_atomically(target, lambda staging: staging.write_text("from a writer"))
    assert target.read_text() == "from a writer"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.md"]


def test_a_writer_that_fails_midway_leaves_the_old_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "model.joblib"
    target.write_text("old version")

    def half_then_fail(staging):
        staging.write_text("half of the new")
        raise RuntimeError("disk went away")

    with pytest.raises(RuntimeError, match="disk went away"):
        write_atomically(target, half_then_fail)
    assert target.read_text() == "old version"
    assert [p.name for p in tmp_path.iterdir()] == ["model.joblib"]


def test_a_write_the_file_system_refuses_midway_leaves_the_old_file(tmp_path):
    """A real short write: RLIMIT_FSIZE makes the kernel refuse bytes past 1,000 (EFBIG), as a full disk would."""
    target = tmp_path / "report.html"
    target.write_text("old report")
    script = textwrap.dedent(f"""
        import resource, signal
        from social_pipeline.core.files import write_atomically
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.RLIM_INFINITY))
        try:
            write_atomically({str(target)!r}, "x" * 50_000)
        except OSError as exc:
            print("refused", exc.errno)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("refused"), out.stderr
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_duckdb_attach_gets_a_path_that_does_not_exist_yet(tmp_path):
    """DuckDB refuses to ATTACH an existing empty file: the writer is handed a fresh name."""
    target = tmp_path / "copy.duckdb"

    def build(staging):
        con = duckdb.connect()
        con.execute(f"ATTACH '{staging}' AS copy")
        con.execute("CREATE TABLE copy.t AS SELECT 42 AS answer")
        con.close()

    write_atomically(target, build)
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT answer FROM t").fetchall() == [(42,)]


def test_writing_many_files_leaves_those_already_holding_their_content_alone(tmp_path):
    same, changed, new = tmp_path / "a" / "same.md", tmp_path / "a" / "changed.md", tmp_path / "b" / "new.html"
    write_atomically(same, "kept\n")
    write_atomically(changed, "old\n")
    os.utime(same, (1_000_000_000, 1_000_000_000))
    os.utime(changed, (1_000_000_000, 1_000_000_000))

    rewritten = write_files_atomically({same: "kept\n", changed: "new and longer\n", new: b"<html>"})

    assert sorted(rewritten) == sorted([changed, new])
    assert same.stat().st_mtime == 1_000_000_000  # not rewritten
    assert (same.read_text(), changed.read_text(), new.read_bytes()) == ("kept\n", "new and longer\n", b"<html>")
    # The same content again: nothing is rewritten. A file of the same size but other bytes is.
    assert write_files_atomically({same: "kept\n", changed: "new and longer\n", new: b"<html>"}) == []
    assert write_files_atomically({same: "KEPT\n"}) == [same] and same.read_text() == "KEPT\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "changed.md", "new.html", "same.md"]


def test_a_failure_writing_many_files_leaves_each_old_or_wholly_new_and_no_temporary_file(tmp_path):
    """The second file's folder is a file, so its write fails: the first is written whole, the
    existing third keeps its old content, and no staging file is left anywhere."""
    first, blocked, third = tmp_path / "first.md", tmp_path / "not_a_folder" / "x.md", tmp_path / "third.md"
    (tmp_path / "not_a_folder").write_text("a file where a folder should be")
    third.write_text("old third")
    with pytest.raises(OSError):
        write_files_atomically({first: "first\n", blocked: "blocked\n", third: "new third\n"})
    assert third.read_text() in ("old third", "new third\n")
    assert not first.exists() or first.read_text() == "first\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_crash_between_staging_and_renaming_leaves_each_file_old_or_wholly_new(tmp_path):
    """Guard: the process dies (SIGKILL) at its second rename. The file renamed before it is wholly new, the
    one not yet renamed still holds its old text: every file is whole, whatever the moment of the crash."""
    renamed_first, not_renamed = tmp_path / "a" / "first.html", tmp_path / "b" / "second.html"
    for path in (renamed_first, not_renamed):
        path.parent.mkdir()
        path.write_text("old " + path.name)
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from social_pipeline.core.files import write_files_atomically
        real_replace, renames = os.replace, []
        def replace_then_crash(source, target):
            renames.append(target)
            if len(renames) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            real_replace(source, target)
        os.replace = replace_then_crash
        write_files_atomically({{Path({str(renamed_first)!r}): "new first", Path({str(not_renamed)!r}): "new second"}},
                               threads=1)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == -9, out.stderr
    assert renamed_first.read_text() == "new first"
    assert not_renamed.read_text() == "old second.html"
    # The killed process had no chance to remove its staging file: hidden, beside the file it was for.
    (left,) = [p.name for p in not_renamed.parent.iterdir() if p != not_renamed]
    assert left.startswith(".second.html.") and left.endswith(".tmp")
    assert [p.name for p in renamed_first.parent.iterdir()] == ["first.html"]
