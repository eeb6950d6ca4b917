"""Placeholder until this module is written."""

from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


reply_compose = reply_withdraw_view = template_list = template_edit = template_delete = _missing
