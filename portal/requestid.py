"""A request id for every request: taken from the proxy's X-Request-ID when it is a sane
token (nginx sets one), otherwise made here; returned in the response's X-Request-ID and put
on every log record made while the request is handled (see portal.logs)."""

import contextvars
import re
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
actor_var: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="-")
SANE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if SANE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        actor_token = actor_var.set("-")
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            actor_var.reset(actor_token)
        response["X-Request-ID"] = request_id
        return response
