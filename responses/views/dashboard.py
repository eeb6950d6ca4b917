"""Placeholder until this module is written."""

from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


dashboard = inbox = _missing
