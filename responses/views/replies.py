"""Writing public replies, and the business's reply templates. Every provider-scoped page starts
from member_provider_get (another business's review or template is a 404)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from responses import selectors
from responses.access import member_provider_get
from responses.forms import ReplyForm, TemplateForm
from responses.models import (
    CAN_EDIT_TEMPLATES,
    Reply,
    ReplyRevisionStatus,
    ReplyStatus,
    ResponseTemplate,
)
from responses.services.replies import (
    reply_draft,
    reply_revise,
    reply_submit,
    reply_withdraw,
    response_template_delete,
    response_template_save,
)
from responses.tone import HOUSE_TEMPLATES, reply_hints
from reviews.models import Review, ReviewStatus


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _template_text(provider, key: str) -> str | None:
    for house in HOUSE_TEMPLATES:
        if key == f"house-{house.key}":
            return str(house.body)
    if key.isdigit():
        own = ResponseTemplate.objects.filter(provider=provider, pk=int(key)).first()
        return own.body if own else None
    return None


@never_cache
@login_required
def reply_compose(request, slug, review_id):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    review = get_object_or_404(
        Review.objects.select_related("author"),
        pk=review_id,
        provider=provider,
        status=ReviewStatus.PUBLISHED,
    )
    reply = Reply.objects.filter(review=review).first()
    pending_edit = (
        reply.revisions.filter(status=ReplyRevisionStatus.PENDING).first() if reply else None
    )
    current = pending_edit.body if pending_edit else (reply.body if reply else "")
    chosen = _template_text(provider, request.GET.get("template", ""))
    form = ReplyForm(request.POST or None, initial={"body": chosen or current})
    hints = []
    if request.method == "POST" and form.is_valid():
        body = form.cleaned_data["body"]
        action = request.POST.get("action", "check")
        previous = selectors.recent_reply_bodies(provider=provider, exclude_review_id=review.pk)
        hints = reply_hints(body, previous=previous)
        try:
            if action == "draft":
                reply_draft(review=review, actor=request.user, body=body)
                messages.success(request, _("Draft saved. It is not public."))
                return redirect("responses:reply_compose", slug=slug, review_id=review.pk)
            if action == "submit":
                if reply and reply.status in (ReplyStatus.PUBLISHED, ReplyStatus.PENDING):
                    reply_revise(reply=reply, actor=request.user, body=body)
                else:
                    reply_submit(review=review, actor=request.user, body=body)
                messages.success(
                    request,
                    _(
                        "Sent for checking. It will appear under the review once a moderator has "
                        "checked it."
                    ),
                )
                return redirect(f"{_inbox_url(slug)}?tab=pending")
        except ValidationError as error:
            _add_errors(form, error)
    elif reply and current:
        hints = reply_hints(
            current,
            previous=selectors.recent_reply_bodies(provider=provider, exclude_review_id=review.pk),
        )
    context = {
        "provider": provider,
        "membership": membership,
        "active_tab": "inbox",
        "review": review,
        "reply": reply,
        "pending_edit": pending_edit,
        "form": form,
        "hints": hints,
        "house_templates": HOUSE_TEMPLATES,
        "own_templates": selectors.provider_templates(provider=provider),
    }
    return render(request, "responses/reply_compose.html", context)


def _inbox_url(slug):
    from django.urls import reverse

    return reverse("responses:inbox", kwargs={"slug": slug})


@login_required
@require_POST
def reply_withdraw_view(request, slug, review_id):
    provider, _membership = member_provider_get(user=request.user, slug=slug)
    reply = get_object_or_404(Reply, review_id=review_id, provider=provider)
    try:
        reply_withdraw(reply=reply, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your reply has been withdrawn."))
    return redirect(_inbox_url(slug))


@never_cache
@login_required
def template_list(request, slug):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    context = {
        "provider": provider,
        "membership": membership,
        "active_tab": "templates",
        "house_templates": HOUSE_TEMPLATES,
        "own_templates": selectors.provider_templates(provider=provider),
        "can_edit": membership.role in CAN_EDIT_TEMPLATES,
    }
    return render(request, "responses/template_list.html", context)


@never_cache
@login_required
def template_edit(request, slug, template_id=None):
    provider, membership = member_provider_get(user=request.user, slug=slug)
    template = (
        get_object_or_404(ResponseTemplate, pk=template_id, provider=provider)
        if template_id
        else None
    )
    initial = {"name": template.name, "body": template.body} if template else None
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            response_template_save(
                provider=provider, actor=request.user, template=template, **form.cleaned_data
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Template saved."))
            return redirect("responses:template_list", slug=slug)
    context = {
        "provider": provider,
        "membership": membership,
        "active_tab": "templates",
        "form": form,
        "template": template,
        "can_edit": membership.role in CAN_EDIT_TEMPLATES,
    }
    return render(request, "responses/template_edit.html", context)


@login_required
@require_POST
def template_delete(request, slug, template_id):
    provider, _membership = member_provider_get(user=request.user, slug=slug)
    template = get_object_or_404(ResponseTemplate, pk=template_id, provider=provider)
    response_template_delete(template=template, actor=request.user)
    messages.success(request, _("Template deleted."))
    return redirect("responses:template_list", slug=slug)
