"""gunicorn settings for one Heard web instance (`gunicorn -c deploy/gunicorn.conf.py`), used by
the systemd unit deploy/systemd/heard@.service and by `make cluster`. docs/deploy.md explains
each choice; the environment variables read here are listed there.

This file is read by gunicorn's master process, which must never import Heard's own modules:
`systemctl reload` (SIGHUP) starts fresh workers from the master, and a module the master had
imported would stay at its old version in every new worker. Heard's logging is therefore
wired up in each worker, after the application has loaded (`post_worker_init`)."""

import datetime as dt
import json
import logging
import os

_env = os.environ.get
# Not resolved: with /srv/heard/current a symlink to the release, a reload (SIGHUP) re-reads
# this file through the link and changes into the new release.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

wsgi_app = "portal.wsgi:application"
chdir = ROOT
# One instance per port (heard@8001, heard@8002); a private address when nginx runs on another
# machine, and then a firewall that lets only the nginx hosts reach the port.
bind = [f"{_env('HEARD_BIND_HOST', '127.0.0.1')}:{_env('HEARD_PORT', '8000')}"]

# Sync workers: one request at a time each, behind nginx, which buffers slow clients, so a
# worker is never held by a slow network. `timeout` then bounds every request: a worker stuck
# for that long (a hung query) is killed and replaced, which threaded workers cannot do.
workers = int(_env("GUNICORN_WORKERS") or 2 * (os.cpu_count() or 1) + 1)
worker_class = _env("GUNICORN_WORKER_CLASS", "sync")
threads = int(_env("GUNICORN_THREADS", "1"))
timeout = int(_env("GUNICORN_TIMEOUT", "30"))
# A graceful stop or reload lets requests in flight finish within this (systemd's
# TimeoutStopSec is longer).
graceful_timeout = int(_env("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Sync workers close the connection after each response; for `gthread` this is how long an idle
# connection from nginx is kept, longer than nginx's upstream keepalive_timeout (4 s), so that
# nginx, not gunicorn, closes an idle one and never reuses a connection gunicorn just closed.
keepalive = int(_env("GUNICORN_KEEPALIVE", "5"))
# A worker is replaced after about this many requests, so memory stays bounded whatever leaks;
# the jitter keeps the workers from being replaced all at once.
max_requests = int(_env("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(_env("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# The heartbeat file of each worker in memory, not on a disk that may stall (gunicorn's advice).
worker_tmp_dir = _env("GUNICORN_WORKER_TMP_DIR", "/dev/shm")  # noqa: S108 (tmpfs, by design)
# Loaded in each worker, not in the master: SIGHUP then loads a new release's code.
preload_app = False
# Only gunicorn's own use of X-Forwarded-Proto (wsgi.url_scheme) is limited to these
# addresses (nginx's). The headers still reach Django from anyone, and Django trusts them on
# its own settings: BEHIND_TLS_PROXY (X-Forwarded-Proto) and TRUSTED_PROXY_COUNT
# (X-Forwarded-For), whoever sent them. nginx overwrites both, so the port must be reachable
# only by nginx (loopback, or a firewall: docs/deploy.md, "Ports and the firewall").
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Signals (HUP, TERM, TTIN/TTOU) and systemd are the interface; no per-user control socket.
control_socket_disable = True

# --- logs: everything on stdout (the journal), one line per record -------------------------------
# Access lines carry the request id nginx made (RequestIdMiddleware returns it as X-Request-ID).
accesslog = "-"
errorlog = "-"
loglevel = _env("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'


def _debug() -> bool:
    return _env("DEBUG", "True").strip().lower() in ("1", "true", "yes", "on")


_JSON = _env("LOG_FORMAT", "plain" if _debug() else "json") == "json"


class MasterFormatter(logging.Formatter):
    """The master's own lines (starting, workers booted and lost) in the shape of Heard's JSON
    lines, so that one parser reads the whole stream; request lines come from the workers."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": "-",
            "actor": "system",
            "event": None,
            "pid": record.process,
        }
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"))


_MASTER_FORMATTER = (
    {"()": MasterFormatter}
    if _JSON
    else {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"}
)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"master": _MASTER_FORMATTER},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "master",
        }
    },
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
}


class AccessRequestId(logging.Filter):
    """Gives an access line the request id of its response, as Heard's formatter expects."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            request_id = record.args["{x-request-id}o"]  # gunicorn's atoms: "-" when missing
            record.request_id = request_id if request_id != "-" else None
        return True


def post_worker_init(worker) -> None:
    """In the worker, once Django has configured logging: gunicorn's lines go through Heard's
    handler (JSON or plain as LOG_FORMAT says, one record per line, control characters escaped,
    secret tokens in paths redacted), access lines with their request id."""
    access = logging.getLogger("gunicorn.access")
    access.addFilter(AccessRequestId())
    for name in ("gunicorn.error", "gunicorn.access"):
        log = logging.getLogger(name)
        for handler in list(log.handlers):
            log.removeHandler(handler)
        log.propagate = True
