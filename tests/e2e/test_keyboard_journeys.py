"""Three journeys with the keyboard alone (no mouse, no clicks): write a review, reply to one as
a responder, confirm a complaint's resolution.

At every Tab stop the focused element must show a visible focus indicator (WCAG 2.4.7, and
2.4.13's thickness: an outline or a box shadow at least 2 px, or the site's yellow focus
background) and be inside the viewport, not hidden behind anything (2.4.11). The skip link
is the first stop and moves focus to the main content; a form with errors puts its error
summary first, linked to each field (the GOV.UK/NHS pattern); the star rating is a radio
group that arrow keys move through.
"""

import re

import pytest
from playwright.sync_api import expect

from responses.models import Membership, Role, TicketStatus
from responses.services.tickets import ticket_open, ticket_transition
from reviews.models import Review
from tests.factories import (
    TEST_PASSWORD,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MAX_TABS = 120

# What the focused element looks like, and whether it is on screen and on top.
FOCUSED = r"""() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
  const top = document.elementFromPoint(x, y);
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id,
    type: el.type || "",
    name: (el.getAttribute("aria-label") || el.innerText || el.value || el.name || "")
      .replace(/\s+/g, " ").trim(),
    label: el.labels && el.labels.length ? el.labels[0].innerText.replace(/\s+/g, " ").trim() : "",
    outlineStyle: s.outlineStyle,
    outlineWidth: parseFloat(s.outlineWidth) || 0,
    boxShadow: s.boxShadow,
    background: s.backgroundColor,
    inViewport: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
    onTop: !!top && (top === el || el.contains(top) || top.contains(el)
                     || (el.labels && [...el.labels].some(l => l.contains(top)))),
  };
}"""
FOCUS_YELLOW = "rgb(255, 235, 59)"  # --focus in heard.css


def _shadow_px(shadow: str) -> float:
    """The largest offset or spread in a computed box-shadow, in px."""
    numbers = [abs(float(n)) for n in re.findall(r"(-?[\d.]+)px", shadow)]
    return max(numbers, default=0.0)


def _check_visible_focus(info: dict, where: str) -> None:
    assert info is not None, f"{where}: focus went to nothing"
    described = f"{where}: <{info['tag']} id={info['id']!r}> {info['name'][:40]!r}"
    outline = info["outlineStyle"] != "none" and info["outlineWidth"] >= 2
    shadow = info["boxShadow"] != "none" and _shadow_px(info["boxShadow"]) >= 2
    yellow = info["background"] == FOCUS_YELLOW
    assert outline or shadow or yellow, f"{described} has no visible focus indicator: {info}"
    assert info["inViewport"], f"{described} is focused off screen"
    assert info["onTop"], f"{described} is covered by another element"


def tab_to(page, matches, where: str, *, backwards: bool = False) -> dict:
    """Press Tab until the focused element `matches` (a predicate on FOCUSED's dict),
    checking the focus indicator at every stop on the way. Returns the element's info."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        info = page.evaluate(FOCUSED)
        _check_visible_focus(info, where)
        if matches(info):
            return info
    raise AssertionError(f"{where}: {MAX_TABS} presses of Tab never reached the target")


def named(text: str):
    return lambda info: text.lower() in (info["name"] + " " + info["label"]).lower()


def type_into(page, matches, where: str, text: str) -> None:
    tab_to(page, matches, where)
    page.keyboard.type(text)


def sign_in(page, base: str, user) -> None:
    page.goto(base + "/accounts/login/")
    type_into(page, lambda i: i["type"] == "email", "sign-in email", user.email)
    type_into(page, lambda i: i["type"] == "password", "sign-in password", TEST_PASSWORD)
    tab_to(page, named("Sign In"), "sign-in button")
    page.keyboard.press("Enter")
    expect(page.locator(".site-nav__user")).to_have_text(user.display_name)


def check_skip_link(page, where: str) -> None:
    """The first Tab stop is the skip link, and Enter puts focus on the main content."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    page.keyboard.press("Tab")
    info = page.evaluate(FOCUSED)
    _check_visible_focus(info, f"{where}: skip link")
    assert info["name"] == "Skip to main content", f"{where}: first stop is {info}"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


@pytest.fixture
def provider():
    return ProviderFactory(name="Smile Dental Practice", slug="smile-dental")


def test_write_a_review_with_the_keyboard_alone(live_server, page, axe, provider):
    base = live_server.url
    customer = UserFactory(display_name="Kim Keyboard")
    sign_in(page, base, customer)
    page.goto(base + provider.get_absolute_url())
    check_skip_link(page, "provider page")
    tab_to(page, named("Write a review"), "provider page")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Review Smile Dental Practice")

    # Submitting the empty form: the error summary comes first, focused, linked to fields.
    tab_to(page, named("Submit review"), "empty review form")
    page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    axe("review form with errors")
    first_error = tab_to(page, lambda i: i["tag"] == "a", "error summary")
    page.keyboard.press("Enter")
    focused = page.evaluate(FOCUSED)
    assert focused["tag"] in ("input", "textarea", "select"), (first_error, focused)
    assert page.evaluate("() => document.activeElement.getAttribute('aria-invalid')") == "true"

    # The star rating: a radio group the arrow keys move through.
    page.goto(base + provider.get_absolute_url() + "review/")
    tab_to(page, lambda i: i["type"] == "radio", "star rating")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    checked = page.locator("input[name=rating]:checked")
    expect(checked).to_have_count(1)
    chosen = checked.get_attribute("value")
    page.keyboard.press("ArrowUp")
    assert page.locator("input[name=rating]:checked").get_attribute("value") != chosen
    page.keyboard.press("ArrowDown")
    expect(page.locator("input[name=rating]:checked")).to_have_attribute("value", chosen)

    type_into(page, named("Title"), "review title", "Calm and kind")
    type_into(
        page,
        named("Your review"),
        "review text",
        "The hygienist explained every step and the appointment ran exactly on time.",
    )
    tab_to(page, named("When did you visit"), "visit month")
    page.keyboard.press("ArrowDown")  # a select moves to the next month with the arrow keys
    tab_to(page, named("Submit review"), "review form")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your review")
    review = Review.objects.get(author=customer)
    assert review.title == "Calm and kind" and str(review.rating) == chosen


def test_reply_to_a_review_as_a_responder_with_the_keyboard_alone(live_server, page, axe, provider):
    base = live_server.url
    responder = UserFactory(display_name="Rita Responder")
    Membership.objects.create(
        provider=provider, user=responder, role=Role.RESPONDER, job_title="Practice manager"
    )
    review = publish(
        ReviewFactory(provider=provider, title="Waited forty minutes", rating=2),
        ModeratorFactory(),
    )
    sign_in(page, base, responder)
    page.goto(base + "/business/")
    check_skip_link(page, "dashboard")
    tab_to(page, named("Smile Dental Practice"), "dashboard")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Waited forty minutes")).to_be_visible()
    tab_to(page, lambda i: i["tag"] == "a" and "Reply to “Waited forty" in i["name"], "inbox")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your reply")).to_be_visible()
    axe("reply composer")

    type_into(
        page,
        lambda i: i["tag"] == "textarea",
        "reply text",
        "We are sorry you waited. We have changed how we book the first appointments of the "
        "morning so that the wait is never more than ten minutes.",
    )
    tab_to(page, named("Send for publication"), "reply composer")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Sent for checking")
    review.refresh_from_db()
    assert review.reply.status == "pending"
    assert review.reply.responder_name == "Rita Responder"


def test_confirm_a_resolution_with_the_keyboard_alone(live_server, page, axe, provider):
    base = live_server.url
    customer = UserFactory(display_name="Casey Complainant")
    owner = UserFactory(display_name="Owen Owner")
    Membership.objects.create(provider=provider, user=owner, role=Role.OWNER)
    ticket = ticket_open(
        provider=provider,
        customer=customer,
        source="private",
        subject="Bill sent twice",
        message="I was charged twice for the same check-up in March.",
    )
    ticket_transition(ticket=ticket, to=TicketStatus.IN_PROGRESS, actor=owner)
    ticket_transition(
        ticket=ticket,
        to=TicketStatus.RESOLVED,
        actor=owner,
        note="We refunded the second charge on 3 April.",
    )
    sign_in(page, base, customer)
    page.goto(f"{base}/tickets/{ticket.pk}/")
    check_skip_link(page, "ticket page")
    expect(page.locator(".ticket-summary")).to_contain_text("We refunded the second charge")
    tab_to(page, named("Yes, this is resolved"), "ticket page")
    page.keyboard.press("Enter")
    group = page.get_by_role("group", name="Was this put right?")
    expect(group).to_be_visible()
    axe("was this put right?")
    tab_to(page, lambda i: i["type"] == "radio", "put right answers")
    page.keyboard.press("Space")  # select the focused answer
    answer = page.locator("input[type=radio]:checked")
    expect(answer).to_have_count(1)
    label = page.evaluate(FOCUSED)["label"]
    tab_to(page, named("Send my answer"), "put right form")
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"The customer answered: {label}")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED and ticket.confirmed_by_customer
