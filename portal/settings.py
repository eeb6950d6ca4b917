"""Heard's one settings module: every value that differs between deployments comes from the
environment (see `.env.example` and the README), with safe defaults for the embedded demo."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from portal.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# The embedded demo runs with DEBUG on; every real deployment sets DEBUG=False and must then
# supply its own secret and host names (a missing one stops the process at start-up).
DEBUG = env.bool("DEBUG", default=True)

_INSECURE_DEMO_KEY = "django-insecure-heard-demo-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_INSECURE_DEMO_KEY if DEBUG else "")
if not DEBUG and not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG=False (generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
    )
# Earlier keys, still accepted for signatures (sessions, password reset links) while a new
# SECRET_KEY takes over; comma-separated, emptied once they have expired (docs/deploy.md).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must be set when DEBUG=False (a comma-separated list of host names)."
    )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

SITE_NAME = "Heard"
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "portal.apps.HeardAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks_db",
    "portal",
    "accounts",
    "reviews",
    "responses",
]

MIDDLEWARE = [
    "portal.requestid.RequestIdMiddleware",
    "portal.middleware_actor.ActorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Anonymous provider pages from the shared cache, before sessions and routing run.
    "reviews.pagecache.ProviderPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    # Staff, owners and managers without a second factor go to its setup first (DEBUG off).
    "accounts.middleware.RequireMFAMiddleware",
    # Private pages (dashboard, tickets, account) are never stored by browsers or proxies.
    "portal.middleware_nostore.NoStoreMiddleware",
]

ROOT_URLCONF = "portal.urls"
FORM_RENDERER = "portal.forms.HeardFormRenderer"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# SQLite file for the embedded demo; PostgreSQL through DATABASE_URL everywhere else.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A new connection per request costs twelve times the throughput on our machines, so
    # keep connections open and check them before reuse (a restarted server is survivable).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Per connection: the directory's misspelling search (reviews.selectors) uses pg_trgm's
    # `<%` operator, whose threshold is this setting (pg_trgm's default, 0.6, misses
    # "dentsit" → "Dental"); and no JIT compilation, which costs a web request 100 ms to a
    # second on any query the planner thinks big and saves nothing on ours (query-plans.md).
    DATABASES["default"]["OPTIONS"].setdefault(
        "options", "-c pg_trgm.word_similarity_threshold=0.5 -c jit=off"
    )
else:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------
# Local memory for the demo; Redis (CACHE_URL=redis://...) shared by every app instance in
# production — rate limits and sessions only hold across instances with a shared cache.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://heard")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "portal.cache.RedisCache"  # one client per process
    # A Redis that stops answering (a network partition drops packets rather than refusing)
    # fails a request in two seconds, and /health/ says so, instead of holding every worker
    # until gunicorn's timeout kills it. Redis answers in well under a millisecond.
    _redis_options = CACHES["default"].setdefault("OPTIONS", {})
    _redis_options.setdefault("socket_connect_timeout", 2)
    _redis_options.setdefault("socket_timeout", 2)
CACHES["default"].setdefault("KEY_PREFIX", env.str("CACHE_KEY_PREFIX", default="heard"))
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Background tasks -------------------------------------------------------------------
# "immediate" runs tasks in-process after commit (the demo); "database" queues them for
# `manage.py db_worker` (production and the cluster).
TASKS_BACKEND = env.str("TASKS_BACKEND", default="immediate")
_TASK_BACKENDS = {
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
    "dummy": "django.tasks.backends.dummy.DummyBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}, not {TASKS_BACKEND!r}."
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND]}}
EMAIL_SEND_ATTEMPTS = env.int("EMAIL_SEND_ATTEMPTS", default=3)
# Delivery records (address, subject, sent or not; never the message) that keep a re-run task
# from sending twice; `manage.py tasks_requeue_stale` prunes older ones.
EMAIL_DELIVERY_KEEP_DAYS = env.int("EMAIL_DELIVERY_KEEP_DAYS", default=7)
# Finished (SUCCESSFUL or FAILED) task results are kept this many days, for the admin's view of
# the queue and for looking into a failure; `manage.py tasks_requeue_stale` deletes older ones.
TASK_RESULTS_KEEP_DAYS = env.int("TASK_RESULTS_KEEP_DAYS", default=14)

# --- Email (Django 6.1 mailers) ---------------------------------------------------------
# EMAIL_URL (django-environ's schemes): consolemail:// (default, printed);
# smtp+tls://user:pass@host:587 (STARTTLS, the usual submission port);
# smtp+ssl://user:pass@host:465 (implicit TLS); smtp://host:25 (no encryption at all: a relay
# on a private network only); dummymail:// to discard. Beware: django-environ's smtps:// means
# STARTTLS, not implicit TLS, and smtp:// on port 587 sends the password in clear.
# portal.checks warns (heard.W001) when DEBUG is off and a password would go unencrypted.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_email_options = {}
if _email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend":
    _email_options = {
        "host": _email.get("EMAIL_HOST") or "localhost",
        "port": _email.get("EMAIL_PORT") or 25,
        "username": _email.get("EMAIL_HOST_USER") or "",
        "password": _email.get("EMAIL_HOST_PASSWORD") or "",
        "use_tls": bool(_email.get("EMAIL_USE_TLS")),
        "use_ssl": bool(_email.get("EMAIL_USE_SSL")),
        "timeout": 20,
    }
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Heard <no-reply@heard.localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_SUBJECT_PREFIX = "[Heard] "

# --- Accounts ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"

ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str(
    "ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http" if DEBUG else "https"
)
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Heard] "
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, written out so that they are visible and tested; they live in
    # the cache, so production needs the shared Redis cache for them to hold.
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reset_password": "20/m/ip,5/m/key",
    "reauthenticate": "10/m/user",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "confirm_email": "1/3m/key",
    "request_login_code": "20/m/ip,3/m/key",
}
# Changing email, password or second factors, and deleting the account, need the password
# (or a second factor) again if the last sign-in is older than this many seconds.
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# A field people never see: a bot that fills it in is told it signed up, and nothing happens.
ACCOUNT_SIGNUP_FORM_HONEYPOT_FIELD = "website"

# Second factors: TOTP apps and recovery codes. Required for staff and for business owners
# and managers when DEBUG is off (accounts.middleware.RequireMFAMiddleware); the demo, with
# DEBUG on, leaves it optional unless MFA_REQUIRED says otherwise.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Heard"
MFA_REQUIRED = env.bool("MFA_REQUIRED", default=not DEBUG)
# Sessions are recorded when they sign in (address, browser). Tracking every request's
# activity would cost four or five queries on each signed-in page; not worth it.
USERSESSIONS_TRACK_ACTIVITY = False

# The client's address, for rate limits and logs: REMOTE_ADDR, unless Heard runs behind
# proxies we control, in which case the address the last of them saw (X-Forwarded-For read
# from the right). Set to the number of such proxies (1 behind our nginx); with 0 a spoofed
# X-Forwarded-For changes nothing.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Abuse resistance -------------------------------------------------------------------
# The site's forms (portal/ratelimits.py), allauth's format; counted in the default cache by
# account and by client address (TRUSTED_PROXY_COUNT). "" switches one off.
HEARD_RATE_LIMITS = {
    "review_submit": "5/h/user,20/h/ip",
    "complaint": "5/h/user,20/h/ip",
    "report": "20/h/user,60/h/ip",
    "vote": "60/m/user,120/m/ip",
    "claim": "3/h/user,10/h/ip",
    "customer_invite": "20/h/user,60/h/ip",
    "team_invite": "20/h/user,40/h/ip",
    "ticket_message": "30/h/user,120/h/ip",
}

# --- Internationalisation ---------------------------------------------------------------
# British English is the source language: every user-facing string is marked for translation
# in it, and locale/en_GB/ holds the source catalogue. Adding a language (e.g. Welsh, "cy")
# is described in docs/development.md, "Translations".
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English (UK)")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as each language writes them (en-GB: "5 March 2026"), asked for by name:
# `|date:"DATE_FORMAT"` (portal/formats/).
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
# Numbers are always localised (decimal mark); thousands are grouped only where a page asks
# for it (`intcomma`, `blocktranslate with n=…|intcomma`), never by default: grouping every
# number would also group ids and counts that templates put in URLs, ids and form values.
USE_THOUSAND_SEPARATOR = False

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# In production outside the release directory (/srv/heard/static), served by nginx; each
# release's collectstatic adds its hashed files beside the previous release's (docs/deploy.md).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# --- Security ---------------------------------------------------------------------------
# Strict CSP from Django 6.1's own middleware: scripts only from us or with the per-response
# nonce, no plugins, never framed. Styles from our own stylesheet only.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Behind a TLS-terminating proxy (nginx) that sets X-Forwarded-Proto.
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call then gets 401 with WWW-Authenticate: Token.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.HeardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    # The browsable API is a development aid; in production the API speaks JSON only.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.throttles.AnonReadThrottle"],
    # Counted in the default cache, so shared by every instance when CACHE_URL is Redis.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_ANON_RATE", default="120/minute"),
        "review_submit_user": "5/hour",
        "review_submit_ip": "20/hour",
        "reports": "20/hour",
        "votes": "60/minute",
        "token": "30/minute",  # as allauth's "login": 30/m/ip
        "ticket_messages": "30/hour",
        "invitations": "20/hour",
    },
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Heard API",
    "DESCRIPTION": "Ratings, reviews, replies and complaint tickets. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "responses.models.TicketStatus",
        "TicketSourceEnum": "responses.models.TicketSource",
        "ReviewStatusEnum": "reviews.models.ReviewStatus",
        "ReviewSourceEnum": "reviews.models.ReviewSource",
    },
}

# --- Page cache -------------------------------------------------------------------------
# Anonymous provider pages are cached whole for a minute in the shared cache and refreshed
# by the services that change them (reviews/pagecache.py).
PROVIDER_PAGE_CACHE = env.bool("PROVIDER_PAGE_CACHE", default=True)
# The provider page's slow-changing parts and fragments, for every visitor (the same file).
PROVIDER_PARTS_CACHE = env.bool("PROVIDER_PARTS_CACHE", default=True)

# --- Ratings ----------------------------------------------------------------------------
# Bayesian score = (C*m + sum) / (C + n); Trustpilot's published prior: 7 reviews at 3.5.
RATING_PRIOR_WEIGHT = env.float("RATING_PRIOR_WEIGHT", default=7.0)
RATING_PRIOR_MEAN = env.float("RATING_PRIOR_MEAN", default=3.5)

# --- Logging ----------------------------------------------------------------------------
# JSON lines on stdout in production, escaped plain lines in development (docs/security.md).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
LOGGING = logging_config(json=LOG_FORMAT == "json", level=env.str("LOG_LEVEL", default="INFO"))
