"""Leadflow settings: every value comes from the environment (see docs/settings.md)."""

import secrets
from pathlib import Path

import dj_database_url

from leadflow.lib.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("LEADFLOW_VAR_DIR", str(BASE_DIR / "var")))


def _secret_key() -> str:
    """Return the configured key, or one kept in var/ so sessions survive restarts."""
    configured = env_secret("LEADFLOW_SECRET_KEY")
    if configured:
        return configured
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("LEADFLOW_DEBUG", False)
ALLOWED_HOSTS = env_list("LEADFLOW_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("LEADFLOW_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "leadflow.accounts",
    "leadflow.leads",
    "leadflow.capture",
    "leadflow.tracking",
    "leadflow.imports",
    "leadflow.integrations",
    "leadflow.scoring",
    "leadflow.predictive",
    "leadflow.routing",
    "leadflow.mail",
    "leadflow.nurture",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
# What form posts and the visit collector go through (leadflow.lib.wsgi): they use no session or user.
# CommonMiddleware gives every answer its Content-Length, which keep-alive clients read to the end of.
PUBLIC_MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware"]

ROOT_URLCONF = "leadflow.urls"
WSGI_APPLICATION = "leadflow.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "leads:list"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "leadflow" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leadflow.routing.context_processors.notifications",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]


# psycopg's own default; fetch_rows asks for its statements to be prepared on their first run anyway.
PREPARE_AFTER_RUNS = 5


def _database() -> dict:
    """Return the database from DATABASE_URL, or SQLite under var/ when unset."""
    url = env_str("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=env_int("LEADFLOW_DB_CONN_MAX_AGE", 60))
        config["CONN_HEALTH_CHECKS"] = True
        if env_bool("LEADFLOW_DB_PREPARED_STATEMENTS", True):
            # Only statements run through lib.db.fetch_rows are prepared: Django's own cursors put
            # the values in the text (client-side binding), which is never prepared.
            config.setdefault("OPTIONS", {})["prepare_threshold"] = PREPARE_AFTER_RUNS
        return config
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "leadflow.lib.sqlite",
        "NAME": env_str("LEADFLOW_SQLITE_PATH", str(VAR_DIR / "leadflow.sqlite3")),
        "CONN_MAX_AGE": env_int("LEADFLOW_DB_CONN_MAX_AGE", 60),
        "OPTIONS": {
            # Acknowledged means stored: WAL with a full sync on every commit.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=FULL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
                "PRAGMA cache_size=-65536;"
                "PRAGMA temp_store=MEMORY;"
                "PRAGMA mmap_size=268435456;"
                # The WAL file is cut back to 64 MB when it starts over, after an import let it grow.
                "PRAGMA journal_size_limit=67108864;"
            ),
        },
        "TEST": {"NAME": env_str("LEADFLOW_SQLITE_TEST_PATH", "") or ":memory:"},
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": env_str("LEADFLOW_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("LEADFLOW_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "leadflow" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Request limits: a body larger than this is refused with 413 before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("LEADFLOW_MAX_BODY_BYTES", 1_048_576)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("LEADFLOW_MAX_FORM_FIELDS", 200)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("LEADFLOW_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

EMAIL_BACKEND = env_str("LEADFLOW_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("LEADFLOW_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("LEADFLOW_SMTP_PORT", 25)
EMAIL_HOST_USER = env_str("LEADFLOW_SMTP_USER")
EMAIL_HOST_PASSWORD = env_secret("LEADFLOW_SMTP_PASSWORD")
EMAIL_USE_TLS = env_bool("LEADFLOW_SMTP_STARTTLS", False)
DEFAULT_FROM_EMAIL = env_str("LEADFLOW_FROM_EMAIL", "leadflow@localhost")

# Leadflow's own settings.
LEADFLOW_DEFAULT_PHONE_REGION = env_str("LEADFLOW_DEFAULT_PHONE_REGION", "US")
LEADFLOW_ERASURE_KEY = env_secret("LEADFLOW_ERASURE_KEY", "") or SECRET_KEY
LEADFLOW_API_MAX_PAGE_SIZE = env_int("LEADFLOW_API_MAX_PAGE_SIZE", 200)
# A web process trusts a token it looked up for this many seconds; a revocation elsewhere waits at most this.
LEADFLOW_API_TOKEN_CACHE_SECONDS = env_int("LEADFLOW_API_TOKEN_CACHE_SECONDS", 0)
LEADFLOW_PAGE_SIZE = env_int("LEADFLOW_PAGE_SIZE", 50)
LEADFLOW_IMPORT_MAX_UPLOAD_BYTES = env_int("LEADFLOW_IMPORT_MAX_BYTES", 200 * 1024 * 1024)
# Imports of files at least this large map and clean rows in a second process while writing; 0: never.
LEADFLOW_IMPORT_SECOND_PROCESS_BYTES = env_int("LEADFLOW_IMPORT_SECOND_PROCESS_BYTES", 8 * 1024 * 1024)
LEADFLOW_WEB_WORKERS = env_int("LEADFLOW_WEB_WORKERS", 0)
LEADFLOW_TRACKING_DURABLE = env_bool("LEADFLOW_TRACKING_DURABLE", False)
# Extra endpoints used only by the benchmark harness (a bare insert to compare against).
LEADFLOW_BENCH_ENDPOINTS = env_bool("LEADFLOW_BENCH_ENDPOINTS", False)

# Predictive score: training thresholds and the weekly retrain (leadflow.predictive).
LEADFLOW_PREDICTIVE_MIN_PER_CLASS = env_int("LEADFLOW_PREDICTIVE_MIN_PER_CLASS", 20)
LEADFLOW_PREDICTIVE_MAX_EXAMPLES = env_int("LEADFLOW_PREDICTIVE_MAX_EXAMPLES", 200_000)
LEADFLOW_PREDICTIVE_WEEKLY = env_bool("LEADFLOW_PREDICTIVE_WEEKLY", True)

# Routing: speed-to-lead escalation and notifications (leadflow.routing).
LEADFLOW_SLA_GRACE_MINUTES = env_int("LEADFLOW_SLA_GRACE_MINUTES", 30)
LEADFLOW_NOTIFY_WEBHOOK_URL = env_str("LEADFLOW_NOTIFY_WEBHOOK_URL")
LEADFLOW_SITE_URL = env_str("LEADFLOW_SITE_URL", "http://127.0.0.1:8000")

# Nurture: frequency cap across sequences, due-step batches, event reading (leadflow.nurture).
LEADFLOW_NURTURE_CAP = env_int("LEADFLOW_NURTURE_CAP", 3)
LEADFLOW_NURTURE_CAP_DAYS = env_int("LEADFLOW_NURTURE_CAP_DAYS", 7)
LEADFLOW_NURTURE_BATCH = env_int("LEADFLOW_NURTURE_BATCH", 100)
LEADFLOW_NURTURE_EVENT_LAG_MS = env_int("LEADFLOW_NURTURE_EVENT_LAG_MS", 500)

# Mail: the outbox sender, compliance footer, tracking and reply polling (leadflow.mail).
EMAIL_TIMEOUT = env_int("LEADFLOW_SMTP_TIMEOUT", 30)
LEADFLOW_POSTAL_ADDRESS = env_str("LEADFLOW_POSTAL_ADDRESS")
LEADFLOW_MAIL_DOMAIN = env_str("LEADFLOW_MAIL_DOMAIN")
LEADFLOW_MAIL_REPLY_TO = env_str("LEADFLOW_MAIL_REPLY_TO")
LEADFLOW_MAIL_UNSUBSCRIBE_ADDRESS = env_str("LEADFLOW_MAIL_UNSUBSCRIBE_ADDRESS")
LEADFLOW_MAIL_BATCH = env_int("LEADFLOW_MAIL_BATCH", 200)
LEADFLOW_MAIL_CONNECTIONS = env_int("LEADFLOW_MAIL_CONNECTIONS", 4)
LEADFLOW_MAIL_LEASE_SECONDS = env_int("LEADFLOW_MAIL_LEASE_SECONDS", 120)
LEADFLOW_MAIL_MAX_ATTEMPTS = env_int("LEADFLOW_MAIL_MAX_ATTEMPTS", 8)
LEADFLOW_MAIL_INBOUND_SECRET = env_secret("LEADFLOW_MAIL_INBOUND_SECRET")
LEADFLOW_IMAP_HOST = env_str("LEADFLOW_IMAP_HOST")
LEADFLOW_IMAP_PORT = env_int("LEADFLOW_IMAP_PORT", 993)
LEADFLOW_IMAP_USER = env_str("LEADFLOW_IMAP_USER")
LEADFLOW_IMAP_PASSWORD = env_secret("LEADFLOW_IMAP_PASSWORD")
LEADFLOW_IMAP_SSL = env_bool("LEADFLOW_IMAP_SSL", True)
LEADFLOW_IMAP_FOLDER = env_str("LEADFLOW_IMAP_FOLDER", "INBOX")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LEADFLOW_LOG_LEVEL", "WARNING")},
    "loggers": {
        "django_tasks": {"level": env_str("LEADFLOW_LOG_LEVEL", "WARNING")},
        "django.db.backends": {"level": "WARNING"},
    },
}
