"""`{% review_cards reviews %}` and `{% public_reply reply provider %}`: the review card and the
business's reply, rendered by reviews.cards (fast, and escaped there)."""

from django import template
from django.utils.safestring import mark_safe

from reviews.cards import render_cards, render_reply

register = template.Library()


@register.simple_tag(takes_context=True)
def review_cards(context, reviews, link_title=False, provider=None):
    """Cards for these reviews (one review, or a list) for the visitor of this page."""
    if not isinstance(reviews, list | tuple):
        reviews = [reviews]
    request = context.get("request")
    return render_cards(
        reviews,
        request=request,
        user=context.get("user") or getattr(request, "user", None),
        voted_ids=context.get("voted_ids") or (),
        provider=provider,
        link_title=link_title,
    )


@register.simple_tag
def public_reply(reply, provider):
    return mark_safe(render_reply(reply, provider))  # noqa: S308 -- escaped in render_reply
