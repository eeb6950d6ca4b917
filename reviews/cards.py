"""The review card and the business's public reply, rendered in Python.

A provider page shows 20 of them, and in the template language each card cost about half a
millisecond (a dozen translation tags, URL reversals, date filters and an include apiece), ten
times the budget of the whole page (issue #10: 20 reviews in 3 ms of CPU; bench/render.py).
Here the strings that are the same for every card (translations, URL patterns, the CSRF field,
the star ratings) are made once per page, and each card is a few `format_html` calls.

The markup is built with f-strings, and every value in it that is not our own constant markup
goes through `escape` (user text, names, titles, translations) or `linebreaks` with
autoescape: the same thing `format_html` does, without its per-call cost. Only the finished,
escaped HTML is marked safe (`render_cards`, `public_reply`). tests/security/test_corpus.py
sends the naughty-strings list through every text field into these pages. Templates use it
through the tags in `reviews.templatetags.review_cards`.
"""

import datetime as dt
from urllib.parse import quote

from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import escape, format_html, linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reviews.templatetags.ratings import stars

PK = 2_147_483_647  # reversed once, then replaced by each review's id


def url_pattern(name: str) -> tuple[str, str]:
    """The URL of `name` for any pk as (head, tail): reversed once, then f"{head}{pk}{tail}"."""
    head, tail = reverse(name, kwargs={"pk": PK}).split(str(PK))
    return head, tail


class _Dates:
    """Dates as the `date` filter writes them (a named format such as "DATE_FORMAT", in the
    active language), each distinct day formatted once per page."""

    def __init__(self):
        self._seen: dict[tuple, str] = {}

    def local_day(self, value: dt.datetime | dt.date, fmt: str) -> str:
        if isinstance(value, dt.datetime):
            value = timezone.localtime(value).date()
        key = (value, fmt)
        text = self._seen.get(key)
        if text is None:
            text = self._seen[key] = formats.date_format(value, fmt)
        return text


def render_reply(reply, provider, dates: _Dates | None = None, t: dict | None = None) -> str:
    """The business's published reply as the public sees it: who wrote it, for whom, when."""
    dates = dates or _Dates()
    reply_from = t["reply_from"] if t else _("Reply from %(name)s")
    title = f", {escape(reply.responder_title)}" if reply.responder_title else ""
    when = ""
    if reply.published_at:
        when = (
            f' · <time datetime="{timezone.localtime(reply.published_at).isoformat()}">'
            f"{escape(dates.local_day(reply.published_at, 'DATE_FORMAT'))}</time>"
        )
    return (
        f'<section class="reply" aria-label="{escape(reply_from % {"name": provider.name})}">\n'
        f'  <p class="reply__meta"><strong>{escape(reply_from % {"name": reply.responder_name})}'
        f"</strong>{title}, {escape(provider.name)}{when}</p>\n"
        f"  {linebreaks(reply.body, autoescape=True)}\n</section>"
    )


class ReviewCards:
    """Renders review cards for one page and one visitor (made once per page)."""

    def __init__(self, *, request, user, voted_ids=(), provider=None):
        self.user = user
        self.voted_ids = set(voted_ids or ())
        self.provider = provider
        self.signed_in = bool(user and user.is_authenticated)
        self.dates = _Dates()
        self.detail = url_pattern("reviews:review_detail")
        self.report = url_pattern("reviews:review_report")
        self.helpful = url_pattern("reviews:review_helpful")
        self._stars: dict = {}
        self._helpful_counts: dict[int, str] = {}
        path = request.path if request is not None else "/"
        self.login_next = escape(
            f"{reverse('account_login')}?next={quote(path, safe='/')}%23review-"
        )
        if self.signed_in and request is not None:
            self.vote_fields = format_html(
                '<input type="hidden" name="csrfmiddlewaretoken" value="{}">\n'
                '        <input type="hidden" name="next" value="{}">',
                get_token(request),
                request.get_full_path(),
            )
        self.t = {
            "hidden_title": _("Review hidden while it is checked"),
            "hidden_body": _(
                "Someone reported this review as harmful or illegal, so it is hidden until a "
                "moderator decides. Its rating still counts."
            ),
            "invited": _("Invited"),
            "invited_title": _("Written after an invitation the business sent to a customer"),
            "organic": _("Organic"),
            "complaint": _("Complaint:"),
            "change_made": _("Change made:"),
            "helpful": _("Helpful"),
            "undo": _("(you marked this; select to undo)"),
            "sign_in": _("Sign in to vote"),
            "report": _("Report"),
            "report_title": _("review “%(title)s”"),
            "by": _("By %(name)s"),
            "visited": _("Visited %(month)s"),
            "published": _("Published %(date)s"),
            "reply_from": _("Reply from %(name)s"),
        }
        t = self.t
        # Our own markup around translated constants, made once per page.
        self.html = {
            "invited_badge": format_html(
                '<span class="badge badge--invited" title="{}">{}</span>',
                t["invited_title"],
                t["invited"],
            ),
            "organic_badge": format_html('<span class="badge">{}</span>', t["organic"]),
            "hidden_body": format_html(
                '<div class="review__body"><p>{}</p></div>', t["hidden_body"]
            ),
            "voted": format_html(
                '<input type="hidden" name="action" value="remove">\n'
                '        <button type="submit" class="button button--small button--secondary" '
                'aria-pressed="true">{}<span class="visually-hidden"> {}</span></button>',
                t["helpful"],
                t["undo"],
            ),
        }

    def _url(self, pattern: tuple[str, str], pk: int) -> str:
        return f"{pattern[0]}{pk}{pattern[1]}"

    def _stars_for(self, rating) -> SafeString:
        html = self._stars.get(rating)
        if html is None:
            html = self._stars[rating] = stars(rating)
        return html

    def _helpful_text(self, count: int) -> str:
        text = self._helpful_counts.get(count)
        if text is None:
            text = self._helpful_counts[count] = ngettext(
                "%(counter)s person found this helpful",
                "%(counter)s people found this helpful",
                count,
            ) % {"counter": count}
        return text

    def render(self, review, *, link_title: bool = False) -> str:
        """One card as HTML. Built with f-strings for speed: every value that is not our own
        constant markup goes through `escape` (the one place to check when editing this)."""
        t = self.t
        pk = review.pk
        hidden = review.is_hidden
        published = review.status == "published"
        if hidden:
            title = escape(t["hidden_title"])
        elif link_title:
            title = f'<a href="{self.detail[0]}{pk}{self.detail[1]}">{escape(review.title)}</a>'
        else:
            title = escape(review.title)
        meta = [
            t["by"] % {"name": review.author_name},
            t["visited"] % {"month": self.dates.local_day(review.visit_month, "YEAR_MONTH_FORMAT")},
        ]
        if review.published_at:
            meta.append(
                t["published"] % {"date": self.dates.local_day(review.published_at, "DATE_FORMAT")}
            )
        if review.source == "invited":
            badge = self.html["invited_badge"]
        else:
            badge = self.html["organic_badge"]
        if hidden:
            body = self.html["hidden_body"]
        else:
            body = f'<div class="review__body">{linebreaks(review.body, autoescape=True)}</div>'
        return (
            f'<article class="review{" review--hidden" if hidden else ""}" id="review-{pk}" '
            f'aria-labelledby="review-{pk}-title">\n'
            f'  <header class="review__header">\n'
            f'    <h3 id="review-{pk}-title" class="review__title">{title}</h3>\n'
            f'    <p class="review__rating">{self._stars_for(review.rating)}</p>\n'
            f"  </header>\n"
            f'  <p class="review__meta">{escape(" · ".join(meta))} {badge}</p>\n'
            f"  {body}\n{self._outcome(review, hidden)}{self._reply(review, hidden)}"
            f'  <footer class="review__actions">\n'
            f'    <span class="review__helpful">{escape(self._helpful_text(review.helpful_count))}'
            f"</span>\n{self._vote(review, published)}"
            f"{self._report(review, published and not hidden)}"
            f"  </footer>\n</article>\n"
        )

    def _outcome(self, review, hidden) -> str:
        ticket = _related(review, "ticket")
        if ticket is None or hidden:
            return ""
        change = ""
        if ticket.change_made:
            change = (
                f"\n    <p><strong>{escape(self.t['change_made'])}</strong> "
                f"{escape(ticket.change_made)}</p>"
            )
        return (
            f'  <div class="complaint-outcome">\n    <p><strong>{escape(self.t["complaint"])}'
            f"</strong> {escape(ticket.public_outcome)}</p>{change}\n  </div>\n"
        )

    def _reply(self, review, hidden) -> str:
        reply = _related(review, "reply")
        if reply is None or reply.status != "published" or hidden:
            return ""
        provider = self.provider or review.provider
        return f"  {render_reply(reply, provider, self.dates, self.t)}\n"

    def _vote(self, review, published) -> str:
        if not self.signed_in:
            return f'    <a href="{self.login_next}{review.pk}">{escape(self.t["sign_in"])}</a>\n'
        if self.user.pk == review.author_id or not published:
            return ""
        if review.pk in self.voted_ids:
            action = self.html["voted"]
        else:
            action = (
                '<button type="submit" class="button button--small button--secondary" '
                f'aria-pressed="false">{escape(self.t["helpful"])}<span class="visually-hidden">'
                f": {escape(review.title)}</span></button>"
            )
        return (
            f'    <form method="post" action="{self.helpful[0]}{review.pk}{self.helpful[1]}" '
            f'class="inline-form">\n        {self.vote_fields}\n        {action}\n    </form>\n'
        )

    def _report(self, review, shown) -> str:
        if not shown:
            return ""
        return (
            f'    <a class="review__report" href="{self.report[0]}{review.pk}{self.report[1]}">'
            f'{escape(self.t["report"])}<span class="visually-hidden"> '
            f"{escape(self.t['report_title'] % {'title': review.title})}</span></a>\n"
        )


def _related(review, name):
    """A reverse one-to-one (reply, ticket) or None, without the exception (and the template
    engine's expensive handling of it) when there is none."""
    try:
        return getattr(review, name)
    except AttributeError:  # RelatedObjectDoesNotExist
        return None


def render_cards(reviews, **kwargs) -> SafeString:
    link_title = kwargs.pop("link_title", False)
    cards = ReviewCards(**kwargs)
    html = "".join(cards.render(r, link_title=link_title) for r in reviews)
    return mark_safe(html)  # noqa: S308 -- built above with every value escaped
