"""Placeholder until this module is written."""

from django.http import Http404


def claim_create(request, slug):
    raise Http404
