"""chalicelib.sending.progress: an audience send's moves on its log item, each made once however often a step runs."""

from __future__ import annotations

from chalicelib.core.ids import new_id
from chalicelib.sending import progress
from chalicelib.sending.commands import Action, SendRequest
from chalicelib.sending.send_log import DONE, FAILED, SENDING, record_queued
from chalicelib.storage import Channel, SendLog


def _queued() -> str:
    request = SendRequest(
        channel="news", receivers=[], title="T", content="C", url="/u", duration=3, audience="subscribers",
        severity="high", actions=(Action("Open", "/o"),),
    )  # fmt: skip
    send_id = new_id()
    record_queued(request, Channel("news", title="News", created_at="2026-01-01T00:00:00.000Z"), send_id, "admin")
    return send_id


def test_the_logged_send_gives_back_its_request(tables: None) -> None:
    request = progress.request_of(SendLog.get(_queued()))
    assert (request.channel, request.title, request.url, request.severity) == ("news", "T", "/u", "high")
    assert request.actions == (Action("Open", "/o"),) and request.audience == "subscribers"


def test_each_move_is_made_once(tables: None) -> None:
    send_id = _queued()
    progress.mark_sending(send_id, 5)
    assert progress.claim_blind_write(send_id, 0) and not progress.claim_blind_write(send_id, 0)
    progress.advance(send_id, 0, 3, last=False)
    progress.advance(send_id, 0, 3, last=False)  # the step again: counted once
    progress.mark_sending(send_id, 99)  # a late copy of step 0: the snapshot stays
    progress.advance(send_id, 1, 2, last=True)
    entry = SendLog.get(send_id)
    assert (entry.status, entry.chunks, entry.stored, entry.recipients) == (DONE, 2, 5, 5)
    progress.mark_failed(send_id)  # a send that is done stays done
    assert SendLog.get(send_id).status == DONE


def test_a_send_that_used_up_its_receives_is_failed_and_can_start_again(tables: None) -> None:
    send_id = _queued()
    progress.mark_failed(send_id)
    assert SendLog.get(send_id).status == FAILED
    progress.mark_sending(send_id, 4)  # redriven from the dead-letter queue
    assert (SendLog.get(send_id).status, SendLog.get(send_id).recipients) == (SENDING, 4)
