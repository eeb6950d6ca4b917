"""Makes the request being handled visible to logging, so that every log line made while it is
handled can name who made it (see portal.logs.current_actor). Placed right after
RequestIdMiddleware; it reads nothing itself, so it costs no query."""

import contextvars

request_var: contextvars.ContextVar = contextvars.ContextVar("request", default=None)


class ActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_var.set(request)
        try:
            return self.get_response(request)
        finally:
            request_var.reset(token)
