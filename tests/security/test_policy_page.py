"""/reviews-policy/ states everything the platform does with reviews: each section is there,
under its own anchor (other pages link to them), and says the thing that matters."""

import re

import pytest
from django.urls import reverse

# (heading id, phrases that section must contain): the phrases are the commitments, so a
# rewrite that drops one fails here.
SECTIONS = [
    ("collection", ["verified account", "last two years"]),
    ("invitations", ["Every customer", "never only the ones", "neutral", "No incentives"]),
    (
        "incentives",
        [
            "Incentives are banned",
            "Review gating is banned",
            "16 CFR Part 465",
            "Digital Markets, Competition and Consumers Act",
        ],
    ),
    ("checks", ["automatic checks", "never publish or reject a review by themselves"]),
    ("moderation", ["read by a moderator", "never removed because it is critical"]),
    ("scoring", ["not a plain average", "score = (C × m + sum of ratings)"]),
    ("responsiveness", ["responsiveness score from 0 to 100", "Reply rate", "Reply speed"]),
    ("removal", ["Businesses cannot remove or hide reviews"]),
    ("consumer-alerts", ["consumer alert", "at least 90 days", "not lifted early"]),
    ("reporting", ["“Report” link", "told the outcome"]),
    ("appeals", ["how to appeal", "different moderator"]),
    ("complaints", ["opens a complaint case", "never delays or hides your review"]),
]


@pytest.fixture
def page(client, db):
    response = client.get(reverse("reviews_policy"))
    assert response.status_code == 200
    return response.content.decode()


def _section(page: str, anchor: str) -> str:
    """The text from this section's heading to the next h2 (or the end of the article)."""
    match = re.search(rf'<h2 id="{anchor}">(.*?)(?=<h2 |</article>)', page, re.S)
    assert match, f"no <h2 id={anchor!r}> on /reviews-policy/"
    return match.group(1)


@pytest.mark.parametrize(("anchor", "phrases"), SECTIONS, ids=[s[0] for s in SECTIONS])
def test_the_policy_page_has_the_section_and_says_what_it_must(page, anchor, phrases):
    text = _section(page, anchor).replace("&#x27;", "'").replace("&quot;", '"')
    for phrase in phrases:
        assert phrase in text, f"section #{anchor} does not say {phrase!r}"


def test_the_policy_page_has_no_section_without_a_test(page):
    anchors = re.findall(r'<h2 id="([^"]+)"', page)
    assert sorted(anchors) == sorted(anchor for anchor, _phrases in SECTIONS)
