"""``ingest`` shows each file as ``str(Path(name))`` without a Path per file (``_Shown``)."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gateway.cli.ingest import MAX_MESSAGE, _read, _Shown, _sources

# Names built of the parts that make Path normalize: empty parts ("//"), ".", "..", a leading
# "/" or "//", a trailing "/".
_PART = st.sampled_from(["", ".", "..", "a", "b.eml", " x", "ä"])
_NAME = st.lists(_PART, min_size=1, max_size=6).map("/".join)


@given(st.lists(_NAME, min_size=1, max_size=5))
def test_shown_names_are_those_path_shows(names):
    """One _Shown reused across names (its per-folder cache) answers as Path does for each."""
    shown = _Shown()
    assert [shown(n) for n in names] == [str(Path(n)) for n in names]


def test_files_of_a_folder_keep_their_names_and_bytes(tmp_path, monkeypatch):
    """A folder given as "./mail//": each file named as before (Path's form), bytes as read."""
    (tmp_path / "mail" / "sub").mkdir(parents=True)
    (tmp_path / "mail" / "a.eml").write_bytes(b"A")
    (tmp_path / "mail" / "sub" / "b.eml").write_bytes(b"B")
    monkeypatch.chdir(tmp_path)
    problems: list[str] = []
    found = list(_sources(["./mail//", "./mail/./a.eml", "missing.eml"], problems))
    assert found == [("mail/a.eml", b"A"), ("mail/sub/b.eml", b"B"), ("mail/a.eml", b"A")]
    assert problems == ["cannot read missing.eml: No such file or directory"]


def test_a_file_larger_than_the_limit_is_not_read(tmp_path):
    big = tmp_path / "big.eml"
    with open(big, "wb") as f:
        f.truncate(MAX_MESSAGE + 1)
    problems: list[str] = []
    assert list(_sources([str(big)], problems)) == []
    assert problems == [f"cannot read {big}: larger than {MAX_MESSAGE} bytes"]
    assert _read(os.devnull) == b""
