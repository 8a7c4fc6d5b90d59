"""The desk in a real browser (Chromium via Playwright, as ``test_browser``): "My cases" with
its unread count, the owner picker, the note tab and the search box. Screenshots go to
``var/screenshots/`` (``my-cases``, ``case-note``, ``search``)."""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.http.accounts import Role
from tests.http.conftest import USERS
from tests.http.test_browser import _shot, _sign_in, browser, page  # noqa: F401 (fixtures)
from tests.support import ingest, open_case, post, reply_to
from workflows.cases import assignment
from workflows.storage.models import OutboundMessage

ANALYST = USERS[Role.ANALYST]


def _assign(rt, number: str, owner: str) -> None:
    with rt.db.transaction() as s:
        assignment.assign(s, number=number, owner=owner, actor="test", now=rt.now())


def _outbox(rt) -> int:
    with rt.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(OutboundMessage)) or 0


def test_my_cases_shows_the_unread_reply_until_opened(desk, page):  # noqa: F811
    """The analyst sees a count beside "My cases", the case marked, and opening it reads it."""
    mine = open_case(desk.rt, subject="Printer on fire")
    open_case(desk.rt, subject="Somebody else's fax")
    _assign(desk.rt, mine, ANALYST)
    ingest(desk.rt, reply_to(post(desk.rt, mine), sender="alice@acme.example",
                             body="It is an HP 4000."))
    _sign_in(page, Role.ANALYST)
    assert page.text_content("#unread-count") == "1"
    page.click("#nav-my-cases")
    page.wait_for_selector("h1 >> text=My cases")
    rows = page.locator("tr.case-row")
    assert rows.count() == 1 and rows.first.get_attribute("data-number") == mine
    assert page.locator("tr.unread .new-reply").count() == 1
    _shot(page, "my-cases")
    page.click(f"a >> text={mine}")
    page.wait_for_selector("#case-owner")
    assert page.text_content("#case-owner") == ANALYST
    assert page.locator("#unread-count").count() == 0  # read now


def test_unassigned_view_and_owner_picker(desk, page):  # noqa: F811
    """The queue of cases nobody owns; taking one moves it out of the queue."""
    number = open_case(desk.rt, subject="Nobody's yet")
    _sign_in(page, Role.ANALYST)
    page.click("#nav-unassigned")
    page.wait_for_selector("h1 >> text=Unassigned")
    page.click(f"a >> text={number}")
    page.select_option("select[name=owner]", ANALYST)
    page.click("button:has-text('Set owner')")
    page.wait_for_selector(f"#case-owner >> text={ANALYST}")
    page.click("#nav-unassigned")
    page.wait_for_selector("h1 >> text=Unassigned")
    assert page.locator(f"tr[data-number='{number}']").count() == 0


def test_the_note_tab_adds_a_staff_only_note_and_mails_nobody(desk, page):  # noqa: F811
    """A note is marked as such in the timeline, and nothing reaches the outbox."""
    number = open_case(desk.rt)
    before = _outbox(desk.rt)
    _sign_in(page, Role.ANALYST)
    page.goto(f"/cases/{number}")
    assert not page.is_visible("form.note-form")  # the reply tab is first
    page.click("#note-tab")
    page.fill("form.note-form textarea[name=body]", "Customer is on holiday until Monday.")
    page.click("form.note-form button[type=submit]")
    page.wait_for_selector(".flash >> text=not mailed")
    note = page.locator(".entry.note")
    assert note.count() == 1
    assert "Customer is on holiday until Monday." in note.text_content()
    assert "note · staff only" in note.text_content()
    assert _outbox(desk.rt) == before
    _shot(page, "case-note")


def test_the_search_box_finds_a_word_of_a_customer_reply(desk, page):  # noqa: F811
    """Typed in the header, the word is found in the reply's body and highlighted."""
    number = open_case(desk.rt)
    open_case(desk.rt, subject="Unrelated")
    ingest(desk.rt, reply_to(post(desk.rt, number), sender="alice@acme.example",
                             body="The paper tray smells of marzipan."))
    _sign_in(page, Role.ANALYST)
    page.fill(".search-box input[name=q]", "marzipan")
    page.press(".search-box input[name=q]", "Enter")
    page.wait_for_selector("#hit-count")
    hits = page.locator("li.hit")
    assert hits.count() == 1 and hits.first.get_attribute("data-number") == number
    assert hits.first.get_attribute("data-source") == "inbound"
    assert page.text_content("li.hit mark") == "marzipan"
    _shot(page, "search")
