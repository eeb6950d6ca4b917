"""The person's own data: what Heard holds, a JSON download of it, and deleting the account."""

import json

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from accounts.selectors import account_data_summary
from accounts.services import STAFF_REFUSED, account_data_export, account_delete, export_filename

CONFIRM_WORD = "DELETE"


class AccountDeleteForm(forms.Form):
    confirm = forms.CharField(
        label=gettext_lazy("Type DELETE to confirm"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_confirm(self):
        value = self.cleaned_data["confirm"].strip()
        if value.upper() != CONFIRM_WORD:
            raise ValidationError(_("Type the word DELETE to confirm."))
        return value


@never_cache
@login_required
def data(request):
    return render(
        request, "accounts/data.html", {"summary": account_data_summary(user=request.user)}
    )


@never_cache
@login_required
def data_download(request):
    payload = json.dumps(
        account_data_export(user=request.user), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False
    )
    response = HttpResponse(payload, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename()}"'
    return response


@never_cache
@login_required
@reauthentication_required(allow_get=True)  # reading the consequences needs no password
def delete(request):
    can_delete = not (request.user.is_staff or request.user.is_superuser)
    refusal = "" if can_delete else STAFF_REFUSED
    form = AccountDeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and can_delete and form.is_valid():
        try:
            account_delete(user=request.user, request=request)
        except ValidationError as error:
            refusal = " ".join(error.messages)
        else:
            logout(request)
            messages.success(
                request,
                _("Your account has been deleted. We have sent a last email to confirm it."),
            )
            return redirect("home")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "accounts/delete_confirm.html",
        {
            "form": form,
            "refusal": refusal,
            "can_delete": can_delete,
            "summary": account_data_summary(user=request.user),
        },
        status=status,
    )
