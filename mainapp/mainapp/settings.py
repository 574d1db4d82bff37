"""All mainapp configuration, read from the environment and validated at start.

Local-development defaults live in the repository's top-level ``.env`` (the launcher exports
them); nothing here is a secret production would use.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

from msh_common.forwarding import DEFAULT_TRUSTED_PROXIES
from msh_common.logging import logging_config
from msh_common.secrets import refuse_dev_secrets
from msh_events.config import EventsConfig

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

ENVIRONMENT = env.str("ENVIRONMENT", default="development")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# The public origin (the gateway), used in e-mailed links and as the trusted CSRF origin.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PUBLIC_URL])
# Browser origins besides PUBLIC_URL (the gateway's CORS list): cookie-based refresh and logout
# are accepted only from PUBLIC_URL or one of these (Origin, else Referer).
CORS_ALLOWED_ORIGINS = [
    origin.rstrip("/") for origin in env.list("CORS_ALLOWED_ORIGINS", default=[]) if origin
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "mainapp.accounts",
    "msh_events.contrib.django",
    "mainapp.realtime",
]

MIDDLEWARE = [
    "mainapp.edge.ForwardedHeadersMiddleware",  # first: who the client is (TRUSTED_PROXIES)
    "mainapp.edge.NoStoreMiddleware",
    "mainapp.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mainapp.errors.JsonErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mainapp.urls"
WSGI_APPLICATION = "mainapp.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": env.db_url("MAINAPP_DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL")
# Django Channels (mainapp.realtime, served by mainapp.asgi): group messages through Redis
# pub/sub, so every ASGI process delivers to its own sockets.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "msh:ws:"},
    }
}
# Token revocations (msh_auth.revocation) are followed from Redis; with no successful sync for
# this long, authenticated requests are refused with 503 auth_unavailable (fail closed).
REVOCATION_MAX_STALENESS_SECONDS = env.float("REVOCATION_MAX_STALENESS_SECONDS", default=30.0)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "mainapp",
    }
}

AUTH_USER_MODEL = "accounts.User"
# Argon2id at OWASP's recommended cost; older hashes are upgraded on the next login (hashers.py).
PASSWORD_HASHERS = ["mainapp.accounts.hashers.OwaspArgon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3600)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("MAINAPP_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Behind the gateway: it sets X-Forwarded-Host/-Proto/-For from the connection. They are
# believed only from these peers (addresses, CIDRs, host names; mainapp.edge drops them from
# anyone else and takes the client address from X-Forwarded-For): natively the gateway is on
# loopback; compose sets the gateway's service name.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=DEFAULT_TRUSTED_PROXIES.split(","))
USE_X_FORWARDED_HOST = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PUBLIC_URL.startswith("https://")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAINAPP_MAX_BODY_BYTES", default=1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mainapp.accounts.authentication.RevocationAwareJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["mainapp.accounts.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mainapp.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("LOGIN_THROTTLE_RATE", default="10/min"),
        "register": env.str("REGISTER_THROTTLE_RATE", default="10/min"),
        "password_reset": env.str("PASSWORD_RESET_THROTTLE_RATE", default="5/min"),
    },
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "MicroServiceHub mainapp API",
    "DESCRIPTION": "Identity: registration, login, JWT (RS256) issuing, profile.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mainapp.openapi.use_platform_error_schemas",
        "mainapp.openapi.name_operations",
    ],
}

# --- JWT (RS256 only). Keys are PEM files in JWT_PRIVATE_KEYS_DIR; the file stem is the kid. ---
JWT_PRIVATE_KEYS_DIR = env.path("JWT_PRIVATE_KEYS_DIR")
JWT_ACTIVE_KID = env.str("JWT_ACTIVE_KID", default="")  # empty: the newest (last sorted) key
JWT_ISSUER = env.str("JWT_ISSUER", default="microservicehub")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="microservicehub")
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TTL_SECONDS", default=300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        seconds=env.int("JWT_REFRESH_TTL_SECONDS", default=14 * 24 * 3600)
    ),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUDIENCE": JWT_AUDIENCE,
    "ISSUER": JWT_ISSUER,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_TOKEN_CLASSES": ("mainapp.accounts.tokens.AccessToken",),
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "CHECK_USER_IS_ACTIVE": True,
    # Placeholders: the keyring backend (accounts.tokens) signs and verifies, never these.
    "SIGNING_KEY": None,
}

# --- Events (libs/msh_events) ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# CELERY_*, EVENTS_*, OUTBOX_SWEEP_SECONDS: the event bus's own settings, read by msh_events.
EVENTS = EventsConfig.from_env()
EVENTS_SERVICE = "mainapp"  # its queue, and the producer of what it publishes
EVENTS_HANDLERS = "mainapp.event_handlers.HANDLERS"

# --- E-mail: SMTP in production; the file backend writes one .log file per message in dev. ---
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "sent-mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="MicroServiceHub <shop@example.com>")

LOGGING = logging_config(
    "mainapp", env.str("LOG_LEVEL", default="INFO"), env.str("LOG_FORMAT", default="json")
)

_secrets = {
    "DJANGO_SECRET_KEY": SECRET_KEY,
    "MAINAPP_DATABASE_URL": env.str("MAINAPP_DATABASE_URL"),
}
if "ADMIN_PASSWORD" in env:  # only the demo seed reads it; production may leave it unset
    _secrets["ADMIN_PASSWORD"] = env.str("ADMIN_PASSWORD")
refuse_dev_secrets(ENVIRONMENT, _secrets)
if ENVIRONMENT == "production":
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
