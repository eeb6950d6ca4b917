"""Atom feed and embeddable badge for a provider (filled in with #3's syndication work)."""

from django.contrib.syndication.views import Feed
from django.http import HttpResponse


class ProviderReviewsFeed(Feed):
    def get_object(self, request, slug):
        from reviews.selectors import provider_get_public

        return provider_get_public(slug=slug)

    def items(self, obj):
        return []


def provider_badge(request, slug):
    return HttpResponse(status=501)


def provider_jsonld(*, provider, reviews, request) -> str:
    return ""
