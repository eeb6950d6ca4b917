"""Figures about how businesses are doing: monthly analytics for the owner dashboard and the
composite responsiveness score shown beside the stars.

Every function runs a fixed number of queries, whatever the number of providers, months or
rows: counts are grouped in SQL, medians are grouped in PostgreSQL (portal.stats), and the
few per-ticket figures are computed from one narrow query. Months are calendar months in the
site's time zone; a month with nothing in it is a zero (or None for an average), never a gap.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.stats import median_duration_by
from responses.models import PutRight, ReplyStatus, Ticket, TicketStatus
from responses.selectors import review_has_reply
from reviews.checks import Flag
from reviews.models import Report, ReportReason, Review, ReviewSource, ReviewStatus

RESPONSIVENESS_DAYS = 365
RESPONSIVENESS_MIN_ITEMS = 5  # replies + tickets in the window before a score is shown
# How the parts are weighted (they sum to 1); a part with no data drops out and the rest
# are scaled up. Documented on the reviews-policy page.
WEIGHTS = {"reply_rate": 0.30, "speed": 0.20, "confirmed": 0.25, "put_right": 0.25}
FAST_HOURS, SLOW_HOURS = 24, 7 * 24  # a median reply within a day scores 1, a week or more 0
BANDS = [
    (80, _("Very responsive")),
    (60, _("Responsive")),
    (40, _("Sometimes responds")),
    (0, _("Rarely responds")),
]


# --- months ---------------------------------------------------------------------------------
def month_start(value: dt.datetime | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return value.replace(day=1)


def months_back(count: int, *, now=None) -> list[dt.date]:
    """The first days of the last `count` calendar months, oldest first, this month last."""
    first = month_start(now or timezone.now())
    months = []
    for _i in range(count):
        months.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return months[::-1]


def _month_window(months: list[dt.date]) -> tuple[dt.datetime, dt.datetime]:
    """[start of the first month, start of the month after the last) as aware datetimes."""
    tz = timezone.get_current_timezone()
    last = months[-1]
    after = (last + dt.timedelta(days=32)).replace(day=1)
    return (
        dt.datetime.combine(months[0], dt.time(), tzinfo=tz),
        dt.datetime.combine(after, dt.time(), tzinfo=tz),
    )


def _month_key(value) -> dt.date | None:
    """TruncMonth gives a datetime on PostgreSQL and SQLite alike; keep the date."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _hours(delta: dt.timedelta | None) -> float | None:
    return None if delta is None else round(max(delta.total_seconds(), 0) / 3600, 1)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# --- replies ----------------------------------------------------------------------------------
def _answered(reviews, provider_ids):
    """`reviews` with a published reply, joined to it for its time. The reply is looked for
    among the providers' own replies too (a reply's provider is always its review's): the
    planner then reads them through the reply provider index instead of hashing every reply
    on the site."""
    answered = {"reply__status": ReplyStatus.PUBLISHED, "reply__submitted_at__isnull": False}
    if provider_ids is not None:
        answered["reply__provider_id__in"] = provider_ids
    return reviews.filter(**answered)


# --- the analytics page ---------------------------------------------------------------------
@dataclass
class Analytics:
    months: list[dt.date]
    reviews: list[int]  # published in the month
    average: list[float | None]  # mean stars of those reviews
    by_stars: dict[int, list[int]]  # stars → count per month
    reply_rate: list[float | None]  # % of the month's reviews with a published reply
    median_reply_hours: list[float | None]
    opened: list[int]
    resolved: list[int]  # a resolution proposed by the business in the month
    confirmed: list[int]  # closed in the month with the customer confirming
    escalated: list[int]
    first_response_on_time: list[float | None]  # % of the month's tickets answered in time
    resolution_on_time: list[float | None]  # % of the month's tickets resolved in time
    put_right: dict[str, int] = field(default_factory=dict)  # yes/partly/no → answers
    sources: dict[str, dict] = field(default_factory=dict)  # invited/organic → count, average
    flags: list[tuple[str, int]] = field(default_factory=list)  # (label, count), most first
    report_reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total_reviews(self) -> int:
        return sum(self.reviews)

    @property
    def total_tickets(self) -> int:
        return sum(self.opened)


def provider_analytics(*, provider_ids: list[int], months: int = 24, now=None) -> Analytics:
    """Everything on the analytics page for these providers (one, or all of a user's), over
    the last `months` calendar months. Five queries whatever the data."""
    now = now or timezone.now()
    month_list = months_back(months, now=now)
    start, end = _month_window(month_list)
    index = {m: i for i, m in enumerate(month_list)}
    zeros = [0] * len(month_list)

    def per_month():
        return list(zeros)

    published = Review.objects.filter(
        provider_id__in=provider_ids,
        status=ReviewStatus.PUBLISHED,
        published_at__gte=start,
        published_at__lt=end,
    )
    month = TruncMonth("published_at")

    # 1. reviews per month, star and source, with how many have a published reply: volume,
    # average, distribution, reply rate and invited vs organic from one grouped query
    by_stars = {stars: per_month() for stars in range(1, 6)}
    replied = per_month()
    sources = {
        source: {"label": label, "count": 0, "average": None}
        for source, label in ReviewSource.choices
    }
    star_sums = Counter()
    replied_filter = review_has_reply(statuses=[ReplyStatus.PUBLISHED], provider_ids=provider_ids)
    for key, stars, source, count, with_reply in (
        published.annotate(m=month)
        .order_by()
        .values("m", "rating", "source")
        .annotate(n=Count("pk"), r=Count("pk", filter=replied_filter))
    ).values_list("m", "rating", "source", "n", "r"):
        i = index[_month_key(key)]
        by_stars[stars][i] += count
        replied[i] += with_reply
        sources[source]["count"] += count
        star_sums[source] += stars * count
    for source, figures in sources.items():
        if figures["count"]:
            figures["average"] = round(star_sums[source] / figures["count"], 2)
    reviews = [sum(by_stars[s][i] for s in by_stars) for i in range(len(month_list))]
    average = [
        round(sum(s * by_stars[s][i] for s in by_stars) / reviews[i], 2) if reviews[i] else None
        for i in range(len(month_list))
    ]

    # 2. median reply time per month
    medians = median_duration_by(
        _answered(published, provider_ids),
        month,
        F("reply__submitted_at") - F("published_at"),
    )
    median_reply_hours = [None] * len(month_list)
    for key, median in medians.items():
        median_reply_hours[index[_month_key(key)]] = _hours(median)

    # 3. tickets: one narrow query, counted here (a provider has far fewer tickets than rows)
    opened, resolved, confirmed, escalated = per_month(), per_month(), per_month(), per_month()
    first_ok, first_due = per_month(), per_month()
    resolution_ok, resolution_due = per_month(), per_month()
    put_right = Counter()
    in_window = Q(created_at__gte=start, created_at__lt=end)
    for field_name in ("resolved_at", "closed_at", "escalated_at"):
        in_window |= Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
    for row in Ticket.objects.filter(in_window, provider_id__in=provider_ids).values_list(
        "created_at",
        "first_response_due",
        "first_responded_at",
        "resolution_due",
        "resolved_at",
        "closed_at",
        "escalated_at",
        "status",
        "confirmed_by_customer",
        "put_right",
    ):
        (created, first_due_at, first_at, res_due_at, resolved_at, closed_at, escalated_at) = row[
            :7
        ]
        status, confirmed_flag, answer = row[7:]
        i = index.get(month_start(created)) if start <= created < end else None
        if i is not None:
            opened[i] += 1
            if answer:
                put_right[answer] += 1
            # deadline compliance for the month's tickets, counted once the deadline has
            # passed or was met (a ticket still inside its deadline is neither)
            if first_at is not None or first_due_at <= now:
                first_due[i] += 1
                first_ok[i] += first_at is not None and first_at <= first_due_at
            if resolved_at is not None or res_due_at <= now:
                resolution_due[i] += 1
                resolution_ok[i] += resolved_at is not None and resolved_at <= res_due_at
        if resolved_at is not None and start <= resolved_at < end:
            resolved[index[month_start(resolved_at)]] += 1
        if (
            closed_at is not None
            and confirmed_flag
            and status == TicketStatus.CLOSED
            and start <= closed_at < end
        ):
            confirmed[index[month_start(closed_at)]] += 1
        if escalated_at is not None and start <= escalated_at < end:
            escalated[index[month_start(escalated_at)]] += 1

    # 4. automatic flags on the providers' reviews submitted in the period (any status)
    flag_counts = Counter()
    for flags in (
        Review.objects.filter(
            provider_id__in=provider_ids, submitted_at__gte=start, submitted_at__lt=end
        )
        .exclude(flags=[])
        .values_list("flags", flat=True)
    ):
        flag_counts.update(set(flags or []))
    flags = [
        (Flag.LABELS.get(name, name), count)
        for name, count in sorted(flag_counts.items(), key=lambda item: (-item[1], item[0]))
    ]

    # 5. report reasons on the providers' reviews
    reason_labels = dict(ReportReason.choices)
    reasons = [
        (reason_labels.get(reason, reason), count)
        for reason, count in Report.objects.filter(
            review__provider_id__in=provider_ids, created_at__gte=start, created_at__lt=end
        )
        .order_by()
        .values("reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "reason")
        .values_list("reason", "n")
    ]

    return Analytics(
        months=month_list,
        reviews=reviews,
        average=average,
        by_stars=by_stars,
        reply_rate=[_percent(replied[i], reviews[i]) for i in range(len(month_list))],
        median_reply_hours=median_reply_hours,
        opened=opened,
        resolved=resolved,
        confirmed=confirmed,
        escalated=escalated,
        first_response_on_time=[
            _percent(first_ok[i], first_due[i]) for i in range(len(month_list))
        ],
        resolution_on_time=[
            _percent(resolution_ok[i], resolution_due[i]) for i in range(len(month_list))
        ],
        put_right={answer: put_right.get(answer, 0) for answer in PutRight.values},
        sources=sources,
        flags=flags,
        report_reasons=reasons,
    )


# --- the responsiveness score ---------------------------------------------------------------
@dataclass
class Responsiveness:
    reviews: int = 0
    replies: int = 0
    median_reply_hours: float | None = None
    tickets_due: int = 0  # tickets resolved or past their resolution deadline
    confirmed: int = 0  # …closed with the customer confirming the resolution
    answers: dict[str, int] = field(default_factory=dict)  # "Was this put right?"
    tickets: int = 0

    @property
    def enough_data(self) -> bool:
        return self.replies + self.tickets >= RESPONSIVENESS_MIN_ITEMS

    @property
    def parts(self) -> dict[str, float]:
        """Each part on a 0–1 scale; parts without data are left out."""
        parts = {}
        if self.reviews:
            parts["reply_rate"] = self.replies / self.reviews
        if self.median_reply_hours is not None:
            hours = self.median_reply_hours
            parts["speed"] = min(1.0, max(0.0, (SLOW_HOURS - hours) / (SLOW_HOURS - FAST_HOURS)))
        if self.tickets_due:
            parts["confirmed"] = self.confirmed / self.tickets_due
        answered = sum(self.answers.values())
        if answered:
            yes = self.answers.get(PutRight.YES, 0) + 0.5 * self.answers.get(PutRight.PARTLY, 0)
            parts["put_right"] = yes / answered
        return parts

    @property
    def score(self) -> int | None:
        """0–100, or None when there is not enough data to be fair."""
        parts = self.parts
        if not self.enough_data or not parts:
            return None
        weight = sum(WEIGHTS[name] for name in parts)
        return round(100 * sum(WEIGHTS[name] * value for name, value in parts.items()) / weight)

    @property
    def band_label(self):
        """The band, translated when it is shown: for figures kept in a cache that visitors
        of every language share (the /stats/ page's)."""
        score = self.score
        if score is None:
            return _("Not enough data yet")
        return next(label for floor, label in BANDS if score >= floor)

    @property
    def band(self) -> str:
        return str(self.band_label)

    @property
    def reply_rate(self) -> int | None:
        return round(100 * self.replies / self.reviews) if self.reviews else None

    @property
    def confirmed_rate(self) -> int | None:
        return round(100 * self.confirmed / self.tickets_due) if self.tickets_due else None

    def response_figures(self) -> dict:
        """The reply rate and time as `provider_reply_figures` gives
        them (same window, same counting), so a page that shows both needs the queries once."""
        return {
            "reviews": self.reviews,
            "replied": self.replies,
            "reply_rate": self.reply_rate,
            "median_reply_hours": self.median_reply_hours,
        }

    def as_dict(self) -> dict:
        return {
            "score": self.score,
            "band": self.band,
            "reply_rate": self.reply_rate,
            "median_reply_hours": self.median_reply_hours,
            "complaints_confirmed_resolved": self.confirmed_rate,
            "put_right_answers": dict(self.answers),
            "replies": self.replies,
            "tickets": self.tickets,
        }


def _reply_parts(*, provider_ids, since, get) -> None:
    """The reply half of the responsiveness (reviews, replies, median reply time) into
    `get(provider_id)`: two queries, the providers' published reviews probed for a published
    reply and the median over those answered."""
    reviews = Review.objects.filter(status=ReviewStatus.PUBLISHED, published_at__gte=since)
    if provider_ids is not None:
        reviews = reviews.filter(provider_id__in=provider_ids)
    replied = review_has_reply(statuses=[ReplyStatus.PUBLISHED], provider_ids=provider_ids)
    for pk, total, answered in (
        reviews.order_by()
        .values("provider_id")
        .annotate(n=Count("pk"), r=Count("pk", filter=replied))
        .values_list("provider_id", "n", "r")
    ):
        item = get(pk)
        item.reviews, item.replies = total, answered
    medians = median_duration_by(
        _answered(reviews, provider_ids),
        "provider_id",
        F("reply__submitted_at") - F("published_at"),
    )
    for pk, median in medians.items():
        get(pk).median_reply_hours = _hours(median)


def provider_reply_figures(*, provider, now=None) -> dict:
    """The provider's reply rate and median reply time over the last 365 days, counted as the
    responsiveness score counts them (`Responsiveness.response_figures`): two queries."""
    now = now or timezone.now()
    item = Responsiveness()
    _reply_parts(
        provider_ids=[provider.pk],
        since=now - dt.timedelta(days=RESPONSIVENESS_DAYS),
        get=lambda pk: item,
    )
    return item.response_figures()


def responsiveness_for(*, provider_ids=None, now=None) -> dict[int, Responsiveness]:
    """The responsiveness of these providers (None: every provider with any activity) over
    the last 365 days: three queries, whatever the number of providers."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=RESPONSIVENESS_DAYS)
    tickets = Ticket.objects.filter(created_at__gte=since)
    if provider_ids is not None:
        provider_ids = list(provider_ids)
        tickets = tickets.filter(provider_id__in=provider_ids)
    result: dict[int, Responsiveness] = {}

    def get(pk):
        return result.setdefault(pk, Responsiveness(answers=dict.fromkeys(PutRight.values, 0)))

    _reply_parts(provider_ids=provider_ids, since=since, get=get)
    due = Q(resolved_at__isnull=False) | Q(resolution_due__lte=now)
    confirmed = Q(status=TicketStatus.CLOSED, confirmed_by_customer=True)
    for row in (
        tickets.order_by()
        .values("provider_id")
        .annotate(
            n=Count("pk"),
            due=Count("pk", filter=due),
            ok=Count("pk", filter=confirmed),
            yes=Count("pk", filter=Q(put_right=PutRight.YES)),
            partly=Count("pk", filter=Q(put_right=PutRight.PARTLY)),
            no=Count("pk", filter=Q(put_right=PutRight.NO)),
        )
        .values_list("provider_id", "n", "due", "ok", "yes", "partly", "no")
    ):
        item = get(row[0])
        item.tickets, item.tickets_due, item.confirmed = row[1], row[2], row[3]
        item.answers = {PutRight.YES: row[4], PutRight.PARTLY: row[5], PutRight.NO: row[6]}
    return result


def provider_responsiveness(provider, *, now=None) -> Responsiveness:
    return responsiveness_for(provider_ids=[provider.pk], now=now).get(
        provider.pk, Responsiveness(answers=dict.fromkeys(PutRight.values, 0))
    )
