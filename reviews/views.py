"""Public review pages and the customer's own reviews. Thin: selectors read, services write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.pagination import DeferredJoinPaginator
from portal.ratelimits import (
    rate_limited,
    rate_limited_form,
    too_many_requests,
    with_retry_after,
)
from reviews import pagecache, selectors, services
from reviews.checks import Flag
from reviews.filters import ProviderFilter
from reviews.forms import ReportForm, ReviewForm
from reviews.models import ReviewStatus
from reviews.services.content import (
    INVITATION_OTHER_PROVIDER,
    invitation_get_usable,
    is_invitation_error,
)
from reviews.syndication import provider_jsonld

PROVIDERS_PER_PAGE = 20
REVIEWS_PER_PAGE = 20
# What a review card, its reply and complaint outcome and the page's JSON-LD show (reviews.cards):
# a narrower query, quicker to build and to turn into objects, 20 times a page.
REVIEW_CARD_FIELDS = [
    *("id", "provider_id", "author_id", "rating", "title", "body", "visit_month"),
    *("published_at", "source", "helpful_count", "status", "is_hidden"),
    *("author__id", "author__display_name"),
    *("reply__id", "reply__status", "reply__responder_name", "reply__responder_title"),
    *("reply__published_at", "reply__body"),
    *("ticket__id", "ticket__status", "ticket__put_right", "ticket__confirmed_by_customer"),
    *("ticket__resolution_rejected_at", "ticket__change_made"),
]
# Lazy: a module-level gettext() would fix the labels in whichever language imported it.
REVIEW_SORTS = [
    ("-published_at", gettext_lazy("Newest")),
    ("-helpful_count", gettext_lazy("Most helpful")),
    ("-rating", gettext_lazy("Highest rating")),
    ("rating", gettext_lazy("Lowest rating")),
]


def provider_list(request):
    filterset = ProviderFilter(request.GET or None)
    providers = (
        filterset.qs if filterset.is_bound and filterset.is_valid() else selectors.provider_search()
    )
    page = Paginator(providers, PROVIDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/provider_list.html",
        {"filter": filterset, "page": page, "query": request.GET.get("q", "")},
    )


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def provider_detail(request, slug):
    # The version is read before the provider and its reviews, so a change committed meanwhile
    # leaves what is built here unused (reviews/pagecache.py).
    provider, version = pagecache.provider_and_version(
        slug, lambda: selectors.provider_get_public(slug=slug)
    )
    context = provider_page_context(request, provider, version)
    response = render(request, "reviews/provider_detail.html", context)
    # Anonymous visitors' requests are answered by pagecache.ProviderPageCacheMiddleware
    # while this page stays current.
    pagecache.store_page(request, response, version)
    return response


def provider_page_context(request, provider, version: str) -> dict:
    """Everything the provider page template needs (also timed by bench/render.py)."""
    ordering = request.GET.get("sort", "-published_at")
    if ordering not in dict(REVIEW_SORTS):
        ordering = "-published_at"
    rating = _int_or_none(request.GET.get("rating"))
    if rating not in (1, 2, 3, 4, 5):
        rating = None
    reviews = selectors.review_list_public(
        provider=provider, ordering=ordering, rating=rating
    ).only(*REVIEW_CARD_FIELDS)
    # The stored aggregates already know how many there are: no COUNT(*) per page.
    total = provider.rating_distribution[str(rating)] if rating else provider.review_count
    page = DeferredJoinPaginator(reviews, REVIEWS_PER_PAGE, count=total).get_page(
        request.GET.get("page")
    )
    page_reviews = list(page.object_list)
    parts = selectors.provider_page_parts(provider=provider, version=version)
    averages = provider.aspect_averages()
    return {
        "provider": provider,
        "parts_stamp": parts["stamp"],
        "fragment_seconds": pagecache.fragment_seconds(),
        "page": page,
        "reviews": page_reviews,
        "sort": ordering,
        "sorts": REVIEW_SORTS,
        "rating_filter": rating,
        "distribution": _distribution(provider),
        "aspect_rows": [
            (text, averages[code]) for code, text in parts["aspects"] if code in averages
        ],
        "voted_ids": selectors.helpful_review_ids(user=request.user, reviews=page_reviews),
        "jsonld": provider_jsonld(provider=provider, reviews=page_reviews, request=request),
        "response": parts["responsiveness"].response_figures(),
        "changes_made": parts["changes_made"],
        "responsiveness": parts["responsiveness"],
        "consumer_alerts": parts["consumer_alerts"],
    }


def _distribution(provider):
    total = provider.review_count
    return [
        {
            "stars": stars,
            "count": provider.rating_distribution[str(stars)],
            "percent": round(100 * provider.rating_distribution[str(stars)] / total)
            if total
            else 0,
        }
        for stars in (5, 4, 3, 2, 1)
    ]


def review_detail(request, pk):
    review = selectors.review_get_visible(pk=pk, user=request.user)
    voted = selectors.helpful_review_ids(user=request.user, reviews=[review])
    return render(
        request,
        "reviews/review_detail.html",
        {"review": review, "provider": review.provider, "voted_ids": voted},
    )


# Set by responses' invitation link (/invite/<token>/); kept in the session so that it
# survives signing up or in on the way to the review form.
INVITATION_SESSION_KEY = "review_invitation_token"


def _invitation_lost(error: ValidationError, *, submitting: bool) -> str:
    reason = " ".join(error.messages)
    if submitting:
        return _(
            "%(reason)s Your review has not been sent yet: check it and submit it again, and it "
            "will be published without the Invited label."
        ) % {"reason": reason}
    return _("%(reason)s Your review will not be labelled Invited.") % {"reason": reason}


def _session_invitation(request, provider):
    """(invitation, refused): the usable invitation this visitor arrived with, if it is for
    this provider; `refused` when it was for this provider but can no longer be used."""
    token = request.session.get(INVITATION_SESSION_KEY)
    if not token:
        return None, False
    try:
        return invitation_get_usable(token=token, provider=provider), False
    except ValidationError as error:
        if error.code == INVITATION_OTHER_PROVIDER:  # kept for the business it is for
            return None, False
        request.session.pop(INVITATION_SESSION_KEY, None)
        messages.warning(request, _invitation_lost(error, submitting=request.method == "POST"))
        return None, True


@login_required
def review_create(request, slug):
    provider = selectors.provider_get_public(slug=slug)
    invitation, refused = _session_invitation(request, provider)
    form = ReviewForm(request.POST or None, provider=provider)
    wait = 0 if refused else rate_limited_form(request, form, "review_submit")
    # A review written as Invited is not sent as organic without the author seeing why.
    if request.method == "POST" and not refused and form.is_valid():
        try:
            review = services.review_submit(
                author=request.user,
                provider=provider,
                wants_resolution=form.cleaned_data.get("wants_resolution", False),
                invitation=invitation,
                **form.service_kwargs(),
            )
        except ValidationError as error:
            if invitation is not None and is_invitation_error(error):  # spent meanwhile
                request.session.pop(INVITATION_SESSION_KEY, None)
                invitation = None
                error = ValidationError(_invitation_lost(error, submitting=True))
            form.add_service_error(error)
        else:
            if invitation is not None:
                request.session.pop(INVITATION_SESSION_KEY, None)
            return redirect("reviews:review_submitted", pk=review.pk)
    response = render(
        request,
        "reviews/review_form.html",
        {"form": form, "provider": provider, "invitation": invitation},
    )
    return with_retry_after(response, wait) if wait else response


@login_required
def review_submitted(request, pk):
    review = get_object_or_404(selectors.review_list_for_author(user=request.user), pk=pk)
    return render(request, "reviews/review_submitted.html", {"review": review})


@login_required
@require_POST
def review_helpful(request, pk):
    review = selectors.review_get_visible(pk=pk, user=request.user)
    if wait := rate_limited(request, "vote"):
        return too_many_requests(request, wait)
    try:
        if request.POST.get("action") == "remove":
            services.review_unvote_helpful(review=review, user=request.user)
        else:
            services.review_vote_helpful(review=review, user=request.user)
            messages.success(request, _("Thank you: you marked this review as helpful."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(_back_to_review(request, review))


def _back_to_review(request, review):
    next_url = request.POST.get("next", "")
    if next_url.startswith("/") and not next_url.startswith("//"):
        return f"{next_url}#review-{review.pk}"
    return f"{review.provider.get_absolute_url()}#review-{review.pk}"


@login_required
def review_report(request, pk):
    review = selectors.review_get_visible(pk=pk, user=request.user)
    form = ReportForm(request.POST or None)
    wait = rate_limited_form(request, form, "report")
    if request.method == "POST" and form.is_valid():
        try:
            services.review_report(review=review, reporter=request.user, **form.cleaned_data)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Thank you. A moderator will look at your report and tell you the outcome."),
            )
            return redirect(review.provider.get_absolute_url())
    response = render(request, "reviews/review_report.html", {"form": form, "review": review})
    return with_retry_after(response, wait) if wait else response


@login_required
def my_reviews(request):
    reviews = list(selectors.review_list_for_author(user=request.user))
    return render(
        request,
        "reviews/my_reviews.html",
        {"reviews": reviews, "flag_labels": Flag.LABELS, "statuses": ReviewStatus},
    )


@login_required
def my_review_edit(request, pk):
    review = get_object_or_404(selectors.review_list_for_author(user=request.user), pk=pk)
    editable = (ReviewStatus.PENDING, ReviewStatus.PUBLISHED, ReviewStatus.REJECTED)
    if review.status not in editable:
        messages.error(request, _("This review can no longer be edited."))
        return redirect("reviews:my_reviews")
    form = ReviewForm(
        request.POST or None,
        provider=review.provider,
        with_resolution=False,
        initial=ReviewForm.initial_from(review),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.review_revise(review=review, author=request.user, **form.service_kwargs())
        except ValidationError as error:
            form.add_service_error(error)
        else:
            if review.status == ReviewStatus.PUBLISHED:
                note = _("Your edit will be checked; until then the published version stays up.")
            else:
                note = _("Your review has been sent for checking again.")
            messages.success(request, note)
            return redirect("reviews:my_reviews")
    return render(
        request,
        "reviews/review_form.html",
        {"form": form, "provider": review.provider, "editing": review},
    )


@login_required
def my_review_withdraw(request, pk):
    review = get_object_or_404(selectors.review_list_for_author(user=request.user), pk=pk)
    if request.method == "POST":
        try:
            services.review_withdraw(review=review, author=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Your review has been withdrawn."))
        return redirect("reviews:my_reviews")
    return render(request, "reviews/review_withdraw.html", {"review": review})
