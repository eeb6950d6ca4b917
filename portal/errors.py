"""Error pages in the site's style."""

from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template.loader import render_to_string


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


def server_error(request):
    # No request context: whatever broke may be what the context processors need.
    return HttpResponseServerError(render_to_string("500.html"))
