"""Claiming a listing: a signed-in user asks to speak for a provider; staff check and decide."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from portal.ratelimits import rate_limited_form, with_retry_after
from responses.access import membership_get
from responses.forms_team import ClaimForm
from responses.models import ClaimStatus, ProviderClaim
from responses.services.claims import claim_submit
from reviews.selectors import provider_get_public


@login_required
def claim_create(request, slug):
    provider = provider_get_public(slug=slug)
    membership = membership_get(user=request.user, provider=provider)
    if membership is not None:
        return render(
            request, "responses/claim_form.html", {"provider": provider, "membership": membership}
        )
    pending = ProviderClaim.objects.filter(
        provider=provider, user=request.user, status=ClaimStatus.PENDING
    ).first()
    if pending is not None:
        # Also the page after a successful submission (post/redirect/get).
        return render(
            request, "responses/claim_submitted.html", {"claim": pending, "provider": provider}
        )
    form = ClaimForm(request.POST or None)
    wait = rate_limited_form(request, form, "claim")
    if request.method == "POST" and form.is_valid():
        try:
            claim_submit(user=request.user, provider=provider, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            return redirect("responses:claim_create", slug=provider.slug)
    response = render(request, "responses/claim_form.html", {"provider": provider, "form": form})
    return with_retry_after(response, wait) if wait else response
