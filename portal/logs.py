"""Heard's logs: one record is one line (a JSON object in production, an escaped plain line in
development), every line names its request id and actor, and `audit(event, **fields)` is the one
way to write an audit event (logger "heard.audit"). docs/security.md lists the events.

Imported by settings (for `logging_config`), so Django itself is imported lazily here."""

import datetime as dt
import json
import logging
import re

from portal.middleware_actor import request_var
from portal.requestid import actor_var, request_id_var

AUDIT_LOGGER = "heard.audit"
audit_logger = logging.getLogger(AUDIT_LOGGER)

# Keys of every JSON line. An audit field may not take one of them ("actor" excepted: a service
# names its actor itself, which also holds outside a request).
RESERVED = frozenset(
    {"time", "level", "logger", "message", "request_id", "event", "exc_info", "stack_info"}
)

# Paths that carry a secret: customer invitation and team join tokens, allauth's email
# confirmation and password reset keys. Django logs paths ("Not Found: /invite/…"); the secret
# part never reaches a log.
_SECRET_PATH = re.compile(
    r"(/(?:invite|business/join|confirm-email|password/reset/key)/)(?!done/)[^/\s\"'?#]+"
)

# Characters that end a line or rewrite what a terminal shows: C0 and C1 controls (newline,
# carriage return, escape), Unicode line and paragraph separators, bidirectional overrides.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BARE = re.compile(r"[\w.:/@+\-\[\]]+")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "actor",
    "event",
    "audit_fields",
}


def redact(text: str) -> str:
    return _SECRET_PATH.sub(r"\1[redacted]", text)


def one_line(text: str) -> str:
    """`text` with every line break and control character written as an escape."""

    def escape(match):
        char = match.group()
        if char in _NAMED:
            return _NAMED[char]
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(escape, text)


# --- who and which request ---------------------------------------------------------------------
def actor_ref(user) -> str:
    """How logs name an actor: "user:<id>" (never the email), "-" for nobody signed in, "system"
    for Heard itself (deadlines, automatic closes)."""
    if user is None:
        return "system"
    if not getattr(user, "is_authenticated", False):
        return "-"
    return f"user:{user.pk}"


def _actor_of(request) -> str | None:
    """The request's signed-in user, if Django or DRF has already looked it up: logging never
    makes the session and user queries itself."""
    from django.utils.functional import LazyObject, empty

    user = request.__dict__.get("user")
    if isinstance(user, LazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is not None and getattr(user, "is_authenticated", False):
        return actor_ref(user)
    return None


def current_actor() -> str:
    """The actor of the request being handled (see ActorMiddleware), else the context's."""
    request = request_var.get()
    return (request is not None and _actor_of(request)) or actor_var.get()


def identifier_hash(value: str) -> str:
    """A keyed hash of a login identifier (an email address): equal for the same address, so
    attempts on one account can be grouped, and useless without SECRET_KEY."""
    from django.utils.crypto import salted_hmac

    return salted_hmac(
        "heard.logs.identifier", value.strip().lower(), algorithm="sha256"
    ).hexdigest()[:16]


def add_context(record: logging.LogRecord) -> None:
    """request_id and actor on a record that does not carry its own: from the request Django
    attaches to its own records (django.request logs some after the middleware has finished),
    else from the request being handled."""
    request = getattr(record, "request", None)
    if not getattr(record, "request_id", None):
        record.request_id = getattr(request, "request_id", None) or request_id_var.get()
    if not getattr(record, "actor", None):
        record.actor = (
            request is not None and hasattr(request, "__dict__") and _actor_of(request)
        ) or current_actor()


class ContextFilter(logging.Filter):
    """Adds request_id and actor to every record (see add_context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        add_context(record)
        return True


# --- formatters --------------------------------------------------------------------------------
def _fields(record: logging.LogRecord) -> dict:
    audit_fields = getattr(record, "audit_fields", None)
    if audit_fields is not None:
        return dict(audit_fields)
    # Extras other code passed (Django's status_code, for instance); objects such as the request
    # are left out, as they may hold anything.
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RECORD_ATTRS
        and not key.startswith("_")
        and isinstance(value, str | int | float | bool | None)
    }


def _clean(value):
    return redact(value) if isinstance(value, str) else value


class JsonFormatter(logging.Formatter):
    """One JSON object per line. json.dumps escapes every control character and, with
    ensure_ascii, every non-ASCII one, so no text can end the line or forge another key."""

    def format(self, record: logging.LogRecord) -> str:
        add_context(record)
        data = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": record.request_id,
            "actor": record.actor,
            "event": getattr(record, "event", None),
        }
        for key, value in _fields(record).items():
            data.setdefault(key, _clean(value))
        if record.exc_info:
            data["exc_info"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            data["stack_info"] = redact(self.formatStack(record.stack_info))
        return json.dumps(data, ensure_ascii=True, default=str, separators=(",", ":"))


def _plain_value(value) -> str:
    if isinstance(value, str) and _BARE.fullmatch(value):
        return value
    if isinstance(value, int | float | bool) or value is None:
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=True, default=str)


class PlainFormatter(logging.Formatter):
    """A readable line for development: time, level, logger, [request id, actor], the message
    with line breaks and control characters escaped, then key=value fields. A traceback follows
    on indented lines (each escaped), so a line that starts a record never starts with a space
    and nothing written by a user can start one."""

    def format(self, record: logging.LogRecord) -> str:
        add_context(record)
        line = (
            f"{self.formatTime(record)} {record.levelname} {record.name} "
            f"[{one_line(str(record.request_id))} {one_line(str(record.actor))}] "
            f"{one_line(redact(record.getMessage()))}"
        )
        fields = _fields(record)
        if fields:
            line += " " + " ".join(
                f"{one_line(key)}={_plain_value(_clean(value))}" for key, value in fields.items()
            )
        extra_text = []
        if record.exc_info:
            extra_text.append(self.formatException(record.exc_info))
        if record.stack_info:
            extra_text.append(self.formatStack(record.stack_info))
        for text in extra_text:
            line += "".join(f"\n    {one_line(part)}" for part in redact(text).splitlines())
        return line


# --- audit -------------------------------------------------------------------------------------
_UNSET = object()


def _loggable(value):
    from django.db.models import Model

    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Model):
        # Never str(model): a user's __str__ is their name or email address.
        return f"{value._meta.model_name}:{value.pk}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [_loggable(each) for each in value]
    return str(value)


def audit(event: str, *, now: bool = False, **fields) -> None:
    """Write one audit line: `event` (a fixed snake_case name) and fields (ids, status and reason
    codes; never user-written text, emails, passwords or tokens). `actor=` a user (or None for
    Heard itself) names who acted; without it, the signed-in user of the request.

    A change is logged when its transaction commits, so one that is rolled back leaves no line
    (outside a transaction: at once). An attempt (a refusal, a failed sign-in) happened whatever
    becomes of the transaction: `now=True` writes it at once."""
    from django.db import transaction

    actor = fields.pop("actor", _UNSET)
    clash = RESERVED & fields.keys()
    if clash:
        raise ValueError(f"audit fields may not be named {sorted(clash)}")
    extra = {
        "event": event,
        "audit_fields": {key: _loggable(value) for key, value in fields.items()},
        "request_id": request_id_var.get(),
        "actor": current_actor()
        if actor is _UNSET
        else (actor if isinstance(actor, str) else actor_ref(actor)),
    }

    def write():
        audit_logger.info("%s", event, extra=extra)

    if not now and transaction.get_connection().in_atomic_block:
        transaction.on_commit(write, robust=True)
    else:
        write()


# --- configuration -----------------------------------------------------------------------------
def logging_config(*, json: bool, level: str) -> dict:
    """The LOGGING setting: everything to stdout through one handler, JSON lines or plain ones,
    request id and actor on every line; audit events at INFO whatever the root level."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "portal.logs.ContextFilter"}},
        "formatters": {
            "json": {"()": "portal.logs.JsonFormatter"},
            "plain": {"()": "portal.logs.PlainFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json" if json else "plain",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own console handler (DEBUG only) and admin mails are replaced by ours,
            # so each record is written once, in our format.
            "django": {"handlers": [], "level": level, "propagate": True},
            # SQL with its parameters (password hashes, session keys) is never logged.
            "django.db.backends": {"level": "WARNING"},
            "django.tasks": {"level": "WARNING"},
            AUDIT_LOGGER: {"level": "INFO"},
        },
    }
