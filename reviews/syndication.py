"""What Heard says about a provider to other sites: its Atom feed of reviews, the embeddable
rating badge and the schema.org JSON-LD on its page. User text stays text in all three."""

import json
import re

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.contrib.syndication.views import Feed
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import _json_script_escapes
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from portal.l10n import number
from reviews.cards import url_pattern
from reviews.models import Provider, Review
from reviews.pagecache import provider_and_version
from reviews.selectors import provider_get_public, review_list_public

FEED_SIZE = 20
HIDDEN_TITLE = _lazy("Hidden while a report is checked")
HIDDEN_BODY = _lazy(
    "This review is hidden while our moderators check a report that it may be harmful or "
    "illegal. It still counts towards the provider's rating."
)


def rating_stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


# --- Atom feed ----------------------------------------------------------------------------
# Characters XML 1.0 cannot carry (C0 controls other than tab and newlines, surrogates,
# U+FFFE/U+FFFF). Review text may hold them (we keep what people wrote exactly); the feed
# shows U+FFFD in their place so that it stays well-formed.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    return XML_ILLEGAL.sub("\ufffd", value) if value else value


class PlainTextAtom1Feed(Atom1Feed):
    """Atom whose entry summary is `type="text"`.

    Django's Atom1Feed labels the summary `type="html"`, so a reader would render a body
    containing `<b>` as markup. A review is plain text, so it is declared as such and the XML
    writer's own escaping is all it needs.
    """

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


class ProviderReviewsFeed(Feed):
    """A provider's newest published reviews, two queries whatever the number of reviews."""

    feed_type = PlainTextAtom1Feed

    def get_object(self, request, slug):
        return provider_get_public(slug=slug)

    def title(self, obj: Provider) -> str:
        return xml_text(_("Reviews of %(provider)s") % {"provider": obj.name})

    def subtitle(self, obj: Provider) -> str:
        return xml_text(
            _("The newest published reviews of %(provider)s on Heard.") % {"provider": obj.name}
        )

    def link(self, obj: Provider) -> str:
        return obj.get_absolute_url()

    def items(self, obj: Provider):
        return review_list_public(provider=obj)[:FEED_SIZE]

    # Atom titles are text constructs: the XML writer escapes them once. Django's default
    # item_title escapes a second time (an RSS habit), which readers would show as "&lt;".
    def item_title(self, item: Review) -> str:
        return xml_text(
            _("%(stars)s %(title)s (%(rating)s out of 5 stars)")
            % {
                "stars": rating_stars(item.rating),
                "title": HIDDEN_TITLE if item.is_hidden else item.title,
                "rating": item.rating,
            }
        )

    # A hidden review keeps its entry, with the notice instead of its text: readers that
    # already fetched it replace the text when the entry's updated date moves on.
    def item_description(self, item: Review) -> str:
        return HIDDEN_BODY if item.is_hidden else xml_text(item.body)

    def item_link(self, item: Review) -> str:
        return item.get_absolute_url()

    def item_author_name(self, item: Review) -> str:
        return xml_text(item.author_name)

    def item_pubdate(self, item: Review):
        return item.published_at

    def item_updateddate(self, item: Review):
        return item.updated_at


# --- Badge --------------------------------------------------------------------------------
BADGE_STARS_X = 12
STAR_SIZE = 16
STAR_PITCH = 18
# A five-pointed star in a 16-pixel square.
STAR_POINTS = (
    "8.0,0.6 9.9,5.9 15.6,6.1 11.1,9.6 12.7,15.1 8.0,11.9 3.3,15.1 4.9,9.6 0.4,6.1 6.1,5.9"
)


def _star_fill_width(score: float) -> float:
    """Width of the filled part of the five stars for a score, in badge pixels."""
    whole = int(score)
    return whole * STAR_PITCH + (score - whole) * STAR_SIZE


def provider_badge(request, slug):
    """An SVG badge with the provider's Bayesian score and review count, for other sites.

    It always shows the same score as the provider page: never a chosen review, never a raw
    average that three happy customers could inflate.
    """
    # From the shared cache while the provider's version is current (reviews/pagecache.py).
    provider, _version = provider_and_version(slug, lambda: provider_get_public(slug=slug))
    count = provider.review_count
    score = round(provider.score, 1) if count else 0.0
    # Long names are cut to fit the badge; the full name is in its accessible title.
    name = Truncator(provider.name).chars(27)
    if count:
        count_text = ngettext("%(count)s review", "%(count)s reviews", count) % {
            "count": intcomma(count)
        }
        label = _("%(provider)s on Heard: score %(score)s out of 5 from %(count_text)s") % {
            "provider": provider.name,
            "score": number(score, 1),
            "count_text": count_text,
        }
    else:
        count_text = ""
        label = _("%(provider)s on Heard: no reviews yet") % {"provider": provider.name}
    context = {
        "SITE_NAME": settings.SITE_NAME,
        "id_prefix": f"heard-badge-{provider.pk}",
        "label": label,
        "name": name,
        "has_reviews": bool(count),
        "score": number(score, 1),
        "count_text": count_text,
        "stars_x": [BADGE_STARS_X + i * STAR_PITCH for i in range(5)],
        "stars_left": BADGE_STARS_X,
        "text_left": BADGE_STARS_X + 4 * STAR_PITCH + STAR_SIZE + 8,
        "star_points": STAR_POINTS,
        "no_reviews_text": _("No reviews yet"),
        # An SVG length: a machine format, never localised.
        "fill_width": f"{_star_fill_width(score):.1f}",
    }
    # No request: the badge needs no context processors, and none may touch the session.
    svg = render_to_string("reviews/badge.svg", context)
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=3600"
    # Made to be embedded on the business's own site: keep it loadable cross-origin even if a
    # site-wide same-origin resource policy is added later.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


# --- JSON-LD ------------------------------------------------------------------------------
# The most specific schema.org type for a category; anything else is a LocalBusiness.
SCHEMA_TYPES = {
    "dentists": "Dentist",
    "dentist": "Dentist",
    "gp-practices": "MedicalClinic",
    "gp-practice": "MedicalClinic",
    "gp-surgeries": "MedicalClinic",
    "gps": "MedicalClinic",
    "pharmacies": "Pharmacy",
    "pharmacy": "Pharmacy",
    "opticians": "Optician",
    "optician": "Optician",
    "restaurants": "Restaurant",
    "restaurant": "Restaurant",
    "shops": "Store",
    "shop": "Store",
    "stores": "Store",
    "retail": "Store",
    "vets": "VeterinaryCare",
    "vet": "VeterinaryCare",
    "veterinary": "VeterinaryCare",
    "hairdressers": "HairSalon",
    "hairdresser": "HairSalon",
    "hair-salons": "HairSalon",
    "garages": "AutoRepair",
    "garage": "AutoRepair",
    "car-repairs": "AutoRepair",
    "care-homes": "NursingHome",
    "care-home": "NursingHome",
}

# json_script's escapes, plus the two line separators that end a JavaScript string literal in
# older parsers: with these, no review text can close the <script> element or break out of it.
JSONLD_ESCAPES = {**_json_script_escapes, 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _rating(value: int) -> dict:
    return {"@type": "Rating", "ratingValue": value, "bestRating": 5, "worstRating": 1}


def _address(provider: Provider) -> dict:
    street = ", ".join(p for p in (provider.address_line1, provider.address_line2) if p)
    fields = {
        "streetAddress": street,
        "addressLocality": provider.town,
        "postalCode": provider.postcode,
    }
    return {
        "@type": "PostalAddress",
        **{k: v for k, v in fields.items() if v},
        "addressCountry": "GB",
    }


def _review_item(review: Review, detail: tuple[str, str]) -> dict:
    item = {
        "@type": "Review",
        "url": f"{detail[0]}{review.pk}{detail[1]}",
        "author": {"@type": "Person", "name": review.author_name},
        "name": review.title,
        "reviewBody": review.body,
        "reviewRating": _rating(review.rating),
    }
    if review.published_at:
        item["datePublished"] = timezone.localdate(review.published_at).isoformat()
    return item


def provider_jsonld(*, provider: Provider, reviews, request) -> SafeString:
    """schema.org data for the provider page, ready to sit inside a ld+json script element.

    `reviews` are the reviews the page shows; the rating summary covers all published ones.
    """
    url = request.build_absolute_uri(provider.get_absolute_url())
    data = {
        "@context": "https://schema.org",
        "@type": SCHEMA_TYPES.get(provider.category.slug, "LocalBusiness"),
        "@id": url,
        "name": provider.name,
        "url": url,
        "address": _address(provider),
    }
    if provider.phone:
        data["telephone"] = provider.phone
    if provider.website:
        data["sameAs"] = provider.website
    if provider.review_count:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": round(provider.rating_average, 2),
            "reviewCount": provider.review_count,
            "bestRating": 5,
            "worstRating": 1,
        }
    # A hidden review still counts in the rating, but its words are not repeated anywhere.
    head, tail = url_pattern("reviews:review_detail")  # reversed once for the whole page
    detail = (request.build_absolute_uri(head), tail)
    items = [_review_item(review, detail) for review in reviews if not review.is_hidden]
    if items:
        data["review"] = items
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    # Safe only because every character that could end the script element is escaped above;
    # this is the same step Django's json_script filter takes.
    return mark_safe(text.translate(JSONLD_ESCAPES))  # noqa: S308
