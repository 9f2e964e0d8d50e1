"""Settings of a Django project served behind the suite's middleware stack.

The stack (``mysite/wsgi.py``) owns the session cookie and store, compression and error pages.
Django keeps its sessions API, ``contrib.auth`` and the admin: ``request.session`` is the
stack's session (``SESSION_ENGINE`` below), and a user the stack's auth layer signed in
(``REMOTE_USER``) becomes ``request.user``.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Django's own key signs CSRF tokens and password reset links; it is not the session key of
# the stack (SESSION_SECRET in wsgi.py).
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Not needed: django.contrib.sessions (its only model is the table of Django's database
    # engine; the stack's store keeps the sessions).
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # request.session is the stack's session (a subclass of Django's SessionMiddleware that
    # sets no cookie of its own).
    "middleware.integrations.django.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # CSRF protection keeps its token in its own cookie (CSRF_USE_SESSIONS is False).
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # REMOTE_USER set by the stack's auth layer signs the user in to Django; "Persistent":
    # the login stays on the pages the auth layer leaves public (no REMOTE_USER there).
    "django.contrib.auth.middleware.PersistentRemoteUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Off: GZipMiddleware (the stack compresses, with brotli and zstd as well).
]

SESSION_ENGINE = "middleware.integrations.django"

AUTHENTICATION_BACKENDS = [
    # REMOTE_USER -> a Django user, staff and superuser if listed in ADMIN_REMOTE_USERS
    "mysite.backends.StackRemoteUserBackend",
    # user name and password from Django's database (the admin's login form)
    "django.contrib.auth.backends.ModelBackend",
]

#: users the stack's auth layer signs in who get the admin (staff and superuser)
ADMIN_REMOTE_USERS = [name for name in os.environ.get("DJANGO_ADMIN_USERS", "").split(",")
                      if name]

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"

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
            ],
        },
    },
]

# Users and the admin's data; the sessions live in the stack's store, not here.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DATABASE", BASE_DIR / "db.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static"

# Let unhandled exceptions reach the stack's error page (or debug) layer, which logs them with
# a request id, instead of Django rendering its own 500 page.
DEBUG_PROPAGATE_EXCEPTIONS = True

USE_TZ = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"middleware": {"handlers": ["console"], "level": "INFO"}},
}
