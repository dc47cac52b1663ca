"""``Cursor``'s transitions on their own: what "accounted for", "counted" and "resume" mean."""

from __future__ import annotations

from avamar_pack.detection.cursor import Cursor


def test_position_stays_at_the_open_runs_first_record_until_it_closes() -> None:
    cursor = Cursor.at(100)
    assert cursor.record_fed((100, 0), opened_run=True, run_open=True) == (False, False)
    cursor.line_done(150)
    assert cursor.committed == (100, 0)  # the run is open: a restart re-reads it whole
    cursor.record_fed((150, 0), opened_run=False, run_open=True)
    cursor.line_done(200)
    assert cursor.committed == (100, 0)
    cursor.record_fed((200, 0), opened_run=False, run_open=False)  # END banner
    assert cursor.committed == (200, 1)
    cursor.line_done(260)
    assert (cursor.committed, cursor.committed_counted) == ((260, 0), False)


def test_lines_without_records_move_the_position_past_them() -> None:
    cursor = Cursor.at(0)
    cursor.line_done(40)
    cursor.line_done(90)
    assert cursor.committed == (90, 0)


def test_a_snapshot_marks_the_open_run_counted_and_a_new_run_is_not() -> None:
    cursor = Cursor.at(0)
    cursor.record_fed((0, 0), opened_run=True, run_open=True)
    assert cursor.snapshot_counted() is False  # it had not been counted before
    assert (cursor.committed, cursor.committed_counted) == ((0, 0), True)
    assert cursor.snapshot_counted() is True
    before, opened = cursor.record_fed((50, 0), opened_run=True, run_open=True)  # the next run
    assert (before, opened) == (True, False)  # the closed run was counted; the new one is not
    assert (cursor.committed, cursor.committed_counted) == ((50, 0), False)


def test_restart_inside_a_line_skips_what_was_accounted_for_once() -> None:
    cursor = Cursor.restored(300, 2, counted=True)
    assert cursor.skip_in_line(300) == 2
    assert cursor.skip_in_line(300) == 0  # only the first line read after the restart
    before, opened = cursor.record_fed((300, 2), opened_run=True, run_open=True)
    assert opened is True  # the run re-read from the saved position was counted before the restart
    assert cursor.committed_counted is True


def test_restart_in_another_line_skips_nothing() -> None:
    cursor = Cursor.restored(300, 2, counted=False)
    assert cursor.skip_in_line(400) == 0
    assert cursor.resume is None


def test_a_warning_is_accounted_for_before_its_dispatch() -> None:
    cursor = Cursor.at(0)
    cursor.warning_fed((0, 0))
    assert cursor.committed == (0, 1)
    cursor.warning_fed((0, 1))
    assert cursor.committed == (0, 2)
    cursor.line_done(80)
    assert cursor.committed == (80, 0)


def test_truncation_starts_at_record_zero_of_the_new_content() -> None:
    cursor = Cursor.restored(500, 1, counted=True)
    cursor.record_fed((500, 1), opened_run=True, run_open=True)
    cursor.truncated()
    assert cursor == Cursor.at(0)


def test_run_closed_lets_the_position_move_on() -> None:
    cursor = Cursor.at(0)
    cursor.record_fed((0, 0), opened_run=True, run_open=True)
    cursor.run_closed()
    cursor.line_done(70)
    assert cursor.committed == (70, 0)
