"""Organizations and contacts in a real browser (Chromium via Playwright, as
``test_browser``): the list marks organizations below two designated contacts, the admin
un-designates, adds (with a foreign-domain warning) and removes contacts. Screenshots go to
``var/screenshots/`` (``organizations``, ``organization-contacts``)."""

from __future__ import annotations

from gateway.http.accounts import Role
from tests.http.test_browser import _shot, _sign_in, browser, page  # noqa: F401 (fixtures)
from workflows.cases import contacts


def _designated(rt, email: str) -> bool:
    with rt.db.transaction() as s:
        (c,) = [c for c in contacts.list_contacts(s, "Acme", include_removed=True).contacts
                if c.email == email]
        return c.designated and c.active


def test_organizations_below_two_designated_are_marked(desk, page):  # noqa: F811
    """Acme (alice) and Globex (carol) each have one designated contact."""
    _sign_in(page)
    page.click("#nav-organizations")
    page.wait_for_selector("h1 >> text=Organizations")
    assert page.locator("tr.org-row.below-minimum").count() == 2
    _shot(page, "organizations")


def test_admin_edits_contacts_on_the_organization_page(desk, page):  # noqa: F811
    """Designate bob (Acme leaves the "below 2" state), add a contractor (warned), remove
    alice (kept, greyed)."""
    _sign_in(page)
    page.goto("/organizations/Acme")
    page.click("tr[data-email='bob@acme.example'] button.toggle-designated")
    page.wait_for_selector(".flash >> text=designated False → True")
    assert _designated(desk.rt, "bob@acme.example")
    assert page.locator("#designated-count .below-badge").count() == 0
    page.fill("#contact-form input[name=email]", "dave@contractor.example")
    page.fill("#contact-form input[name=contact_name]", "Dave")
    page.select_option("#contact-form select[name=designated]", "no")
    page.click("#contact-form button[type=submit]")
    page.wait_for_selector(".flash >> text=dave@contractor.example added")
    assert "not one of Acme's mail domains" in page.text_content(".flash")
    assert page.locator("tr[data-email='dave@contractor.example'] .foreign-badge").count() == 1
    page.click("tr[data-email='alice@acme.example'] button.remove-contact")
    page.wait_for_selector("tr.removed[data-email='alice@acme.example']")
    assert not _designated(desk.rt, "alice@acme.example")
    _shot(page, "organization-contacts")


def test_an_analyst_sees_contacts_without_the_forms(desk, page):  # noqa: F811
    _sign_in(page, Role.ANALYST)
    page.goto("/organizations/Acme")
    page.wait_for_selector("tr[data-email='alice@acme.example']")
    assert page.locator("#contact-form").count() == 0
