"""The one settings file. Every knob is an environment variable (see README, "Configuration").

Embedded default: SQLite (WAL), files under METASTUDIO_DATA_DIR, django-q2 ORM broker,
in-memory channel layer. Scaled mode: DATABASE_URL=postgres://..., REDIS_URL=redis://...,
METASTUDIO_STORAGE=s3 (+ AWS_* variables).
"""

import os
import secrets
import time
from pathlib import Path

import dj_database_url

from metastudio.api.ratelimit_table import REGIONS
from metastudio.env import EnvError, env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("METASTUDIO_DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = env_str("SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    try:
        # O_EXCL: when web and worker start together on a fresh data dir, exactly one writes the key.
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    for _ in range(50):  # the other process may still be writing it
        key = key_file.read_text().strip()
        if key:
            return key
        time.sleep(0.05)
    raise EnvError(f"{key_file} is empty; delete it or set SECRET_KEY")


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_q",
    "allauth",
    "allauth.account",
    "metastudio",
    "tenancy",
    "billing",
    "assets",
    "voices",
    "avatars",
    "videos",
    "console",
]

MIDDLEWARE = [
    "metastudio.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "metastudio.urls"
ASGI_APPLICATION = "metastudio.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context.navigation",
            ],
        },
    },
]

# --- database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'metastudio.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_SQLITE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tenancy.User"

# --- redis: cache, queue broker, channel layer -------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    # The embedded default runs one web process, so an in-process cache counts every request.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                          "OPTIONS": {"MAX_ENTRIES": env_int("METASTUDIO_LOCAL_CACHE_ENTRIES", 200_000, minimum=1000)}}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- job queue (django-q2) --------------------------------------------------
JOB_LEASE_SECONDS = env_int("METASTUDIO_JOB_LEASE_SECONDS", 120, minimum=5)
Q_CLUSTER = {
    "name": "metastudio",
    "workers": env_int("METASTUDIO_WORKERS", 2, minimum=1),
    "timeout": env_int("METASTUDIO_TASK_TIMEOUT", 3600, minimum=10),
    "retry": env_int("METASTUDIO_TASK_TIMEOUT", 3600, minimum=10) + 60,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.2,
    "ack_failures": True,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- storage ----------------------------------------------------------------
STORAGE_BACKEND = env_choice("METASTUDIO_STORAGE", "local", ("local", "s3"))
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
if STORAGE_BACKEND == "s3":
    AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", required=True)
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL")
    AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME")
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
    AWS_QUERYSTRING_EXPIRE = env_int("AWS_QUERYSTRING_EXPIRE", 3600, minimum=60)
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- auth, console ------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "console:overview"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "console.adapters.ConsoleAccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=60)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "metastudio@localhost")

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "metastudio.api.auth.TokenAuthentication",
        "metastudio.api.auth.SignatureAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["metastudio.api.permissions.IamActionPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["metastudio.api.throttling.TenantApiThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "metastudio.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MetaStudio-compatible API",
    "DESCRIPTION": "Digital-human content platform. Authenticate with X-Auth-Token or AK/SK signing.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

METASTUDIO_REGIONS = env_list("METASTUDIO_REGIONS", list(REGIONS))
for _region in METASTUDIO_REGIONS:
    if _region not in REGIONS:
        raise EnvError(f"METASTUDIO_REGIONS: unknown region {_region!r}; known: {', '.join(REGIONS)}")
METASTUDIO_DEFAULT_REGION = env_choice("METASTUDIO_DEFAULT_REGION", METASTUDIO_REGIONS[0], tuple(REGIONS))
TOKEN_TTL_SECONDS = env_int("METASTUDIO_TOKEN_TTL_SECONDS", 24 * 3600, minimum=60)
SIGNATURE_MAX_SKEW_SECONDS = env_int("METASTUDIO_SIGNATURE_MAX_SKEW_SECONDS", 15 * 60, minimum=1)
RATE_LIMIT_ENABLED = env_bool("METASTUDIO_RATE_LIMIT_ENABLED", True)
# Limit for API routes of this platform that the product document's table does not list.
RATE_LIMIT_UNLISTED_PER_SECOND = env_int("METASTUDIO_RATE_LIMIT_UNLISTED", 20, minimum=1)
JOB_MAX_WAITING = env_int("METASTUDIO_JOB_MAX_WAITING", 20, minimum=1)
JOB_MAX_RUNNING = env_int("METASTUDIO_JOB_MAX_RUNNING", 20, minimum=1)
JOB_MAX_ATTEMPTS = env_int("METASTUDIO_JOB_MAX_ATTEMPTS", 3, minimum=1)

# --- assets ----------------------------------------------------------------------
ASSET_FREE_STORAGE_BYTES = env_int("METASTUDIO_FREE_STORAGE_BYTES", 5 * 1024**3, minimum=0)
ASSET_MAX_FILE_BYTES = env_int("METASTUDIO_MAX_FILE_BYTES", 5 * 1024**3, minimum=1)
ASSET_UPLOAD_URL_TTL_SECONDS = env_int("METASTUDIO_UPLOAD_URL_TTL_SECONDS", 24 * 3600, minimum=60)
ASSET_MAIN_FILE_DEADLINE_SECONDS = env_int("METASTUDIO_MAIN_FILE_DEADLINE_SECONDS", 24 * 3600, minimum=60)
ASSET_UPLOAD_DIR = DATA_DIR / "uploads"
# Word list files (one word per line) for machine review of names, descriptions and text files.
MODERATION_WORD_FILES = env_list("METASTUDIO_MODERATION_WORD_FILES",
                                 [str(BASE_DIR / "assets" / "wordlists" / "default.txt")])
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- voices and speech ---------------------------------------------------------------
# ADVANCE voice jobs need at least this much speech in their long recording (the product asks for 1 h+).
VOICE_ADVANCE_MIN_SECONDS = env_int("METASTUDIO_VOICE_ADVANCE_MIN_SECONDS", 3600, minimum=1)
VOICE_RECORDING_MAX_BYTES = env_int("METASTUDIO_VOICE_RECORDING_MAX_BYTES", 20 * 1024**2, minimum=1024)
VOICE_PACKAGE_MAX_BYTES = env_int("METASTUDIO_VOICE_PACKAGE_MAX_BYTES", 2 * 1024**3, minimum=1024)
# Check each recording against its prompt with the bundled speech recognizer (turn off only for tests).
VOICE_CHECK_ASR = env_bool("METASTUDIO_VOICE_CHECK_ASR", True)
# Where the speech engine keeps unpacked model files (the multilingual Whisper model is joined here once).
SPEECH_CACHE_DIR = Path(env_str("METASTUDIO_SPEECH_CACHE_DIR", str(DATA_DIR / "speech-cache")))
# Extra Piper voices (*.onnx + *.onnx.json) an operator drops in; offered next to the bundled ones.
SPEECH_EXTRA_PIPER_DIR = env_str("METASTUDIO_PIPER_VOICES_DIR", "")
# A 16 MB photo arrives as about 22 MB of base64 (photo detection, photo videos, business cards).
DATA_UPLOAD_MAX_MEMORY_SIZE = 32 * 1024 * 1024

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
