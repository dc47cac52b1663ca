"""The sources, on their own: one contract for every source, then what each one adds.

Contract (``detection/sources/__init__.py``): ``pull()`` yields items in stream order, lines
complete and without their newline, positions that only grow within a stream, a ``Note``
instead of an exception for what it cannot read, and ``checkpoint`` either a resumable
position or None. The engine is not involved: the sources never call it.
"""

from __future__ import annotations

import logging
import os
from typing import Dict, List

import pytest
from avamar_pack.detection.sources import Block, CaughtUp, Line, Note, StreamEnded, StreamOpened, StreamReset
from avamar_pack.detection.sources.files import FileSource
from avamar_pack.detection.sources.salt import SaltSource
from sensorkit import Clock, append, beacon_event, failing_run, minion_event


def file_source(tmp: str, clock: Clock, saved=None, patterns=(), grace: float = 5.0) -> FileSource:
    return FileSource(
        {"avtar": [os.path.join(tmp, "*.log")]},
        saved or {},
        patterns,
        from_beginning=True,
        clock=clock,
        grace_seconds=grace,
        max_line=4096,
    )


def pulled(source) -> list:
    """Everything one pull yields, a ``Block`` copied out of the source's read buffer as it comes
    (the contract: a block's data is valid until the next item is pulled)."""
    out = []
    for item in source.pull():
        if isinstance(item, Block):
            item = Block(item.stream, item.start, item.end, bytearray(item.text), 0)
        out.append(item)
    return out


def lines_of(items) -> List[Line]:
    """Every line the items carry, a ``Block`` split into its lines."""
    out: List[Line] = []
    for item in items:
        if isinstance(item, Line):
            out.append(item)
        elif isinstance(item, Block):
            text = item.text
            assert text.endswith(b"\n") and item.end - item.start == len(text)
            pos = item.start
            for raw in text.splitlines(keepends=True):
                out.append(Line(item.stream, pos, pos + len(raw), raw[:-1].decode("utf-8", "replace")))
                pos += len(raw)
    return out


def feed_files(tmp: str, texts: List[bytes]):
    clock = Clock()
    source = file_source(tmp, clock)
    items = []
    for text in texts:
        with open(os.path.join(tmp, "c1.log"), "ab") as handle:
            handle.write(text)
        items += pulled(source)
    return source, items


def feed_salt(tmp: str, texts: List[bytes]):
    source = SaltSource({"c1": "ava1"}, logging.getLogger("test.sources"))
    items = []
    for text in texts:
        lines = text.decode("utf-8", "replace").splitlines()
        source.push("avamar/avtar/line", minion_event("avamar/avtar/line", "c1", {"lines": lines}))
        items += pulled(source)
    return source, items


@pytest.mark.parametrize("feed", [feed_files, feed_salt], ids=["files", "salt"])
def test_every_source_keeps_the_contract(feed, tmp_path) -> None:
    run = "".join(failing_run("c1")).encode()
    garbage = b"\xff\xfe\x00 not text \x1b[31m\n"
    source, items = feed(str(tmp_path), [run, garbage, run])
    lines = lines_of(items)
    assert [line.text for line in lines if line.text is not None][:3] == [x.rstrip("\n") for x in failing_run("c1")][:3]
    assert all("\n" not in (line.text or "") for line in lines)
    ends = [line.end for line in lines]
    assert ends == sorted(ends) and all(line.start < line.end for line in lines)
    assert sum(1 for line in lines if line.text and "<5704>" in line.text) == 2
    for item in items:
        assert isinstance(item, (Line, Block, Note, CaughtUp, StreamOpened, StreamEnded, StreamReset))
    stream = lines[-1].stream
    position = source.checkpoint(stream, lines[-1].end, 0, False)
    assert position is None or position.offset == lines[-1].end
    assert source.resumable is (position is not None)
    source.close()


def test_files_partial_line_waits_and_huge_line_is_skipped_with_a_reason(tmp_path) -> None:
    clock = Clock()
    source = file_source(str(tmp_path), clock)
    path = os.path.join(str(tmp_path), "c1.log")
    append(path, ["2026-01-05 03:00:00 avtar Info <8474>: - Log file path: /x/c1.log\n", "2026-01-05 03:00:00 av"])
    first = lines_of(pulled(source))
    assert [line.text[:24] for line in first] == ["2026-01-05 03:00:00 avta"]
    append(path, ["tar Info <6555>: Initializing connection\n", "y" * 10000 + "\n"])
    second = lines_of(pulled(source))
    assert second[0].text.endswith("Initializing connection") and second[0].start == first[0].end
    assert second[1].text is None and "more than 4096 bytes" in second[1].reason


def test_files_restart_resumes_at_the_checkpoint(tmp_path) -> None:
    clock = Clock()
    source = file_source(str(tmp_path), clock)
    path = os.path.join(str(tmp_path), "c1.log")
    append(path, failing_run("c1"))
    lines = lines_of(pulled(source))
    position = source.checkpoint(lines[3].stream, lines[3].start, 1, True)
    source.close()
    again = file_source(str(tmp_path), clock, saved={lines[3].stream.key: position}, patterns=source.patterns())
    items = pulled(again)
    opened = [item for item in items if isinstance(item, StreamOpened)]
    assert [(o.offset, o.skip, o.counted) for o in opened] == [(lines[3].start, 1, True)]
    assert lines_of(items)[0].start == lines[3].start


def test_files_copytruncate_gives_the_copys_tail_then_a_reset(tmp_path) -> None:
    clock = Clock()
    source = file_source(str(tmp_path), clock)
    path = os.path.join(str(tmp_path), "c1.log")
    append(path, failing_run("c1")[:4])
    pulled(source)
    append(path, failing_run("c1")[4:])  # written, not read yet, then rotated
    with open(path, "rb") as handle:
        content = handle.read()
    with open(path + ".1", "wb") as handle:
        handle.write(content)
    with open(path, "r+b") as handle:
        handle.truncate(0)
    append(path, ["2026-01-05 04:00:00 avtar Info <6555>: Initializing connection\n"])
    items = pulled(source)
    kinds = [type(item).__name__ for item in items if not isinstance(item, (Note, CaughtUp))]
    reset = kinds.index("StreamReset")
    assert kinds[:reset] == ["Line"] * (len(failing_run("c1")) - 4)  # the copy's tail first
    assert kinds[reset + 1 :] == ["Block"] and lines_of(items)[-1].start == 0


def test_files_rotated_away_file_ends_after_the_grace(tmp_path) -> None:
    clock = Clock()
    source = file_source(str(tmp_path), clock, grace=5.0)
    path = os.path.join(str(tmp_path), "c1.log")
    append(path, failing_run("c1"))
    pulled(source)
    os.rename(path, os.path.join(str(tmp_path), "c1.old"))
    assert not any(isinstance(item, StreamEnded) for item in pulled(source))
    clock.advance(6)
    assert any(isinstance(item, StreamEnded) for item in pulled(source))


def test_salt_drops_unmapped_minions_with_one_warning_each(caplog) -> None:
    source = SaltSource({"web01": "ava1"}, logging.getLogger("test.salt"))
    lines = [line.rstrip("\n") for line in failing_run("x")]
    with caplog.at_level(logging.WARNING, logger="test.salt"):
        for _ in range(3):
            source.push(
                "avamar/avtar/failure", minion_event("avamar/avtar/failure", "kiosk", {"id": "web01", "lines": lines})
            )
            source.push(*beacon_event("printer", lines[7]))
        items = pulled(source)
    assert lines_of(items) == [] and source.dropped == 6
    warned: Dict[str, int] = {}
    for record in caplog.records:
        for minion in ("kiosk", "printer"):
            if repr(minion) in record.getMessage():
                warned[minion] = warned.get(minion, 0) + 1
    assert warned == {"kiosk": 1, "printer": 1}
    # The mapped minion's own events pass; a complete excerpt ends its stream.
    source.push("avamar/avtar/failure", minion_event("avamar/avtar/failure", "web01", {"lines": lines}))
    items = pulled(source)
    assert len(lines_of(items)) == len(lines) and isinstance(items[-1], StreamEnded)
    assert lines_of(items)[0].stream.origin == "web01"
