"""Settings of a minimal Django project served behind the suite's middleware stack.

The stack (``mysite/wsgi.py``) owns sessions, authentication, compression and error pages,
so the Django pieces that would do the same job are turned off below, each with the reason.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Django's own key signs CSRF tokens and the like; it is not the session key of the stack.
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    # Off: django.contrib.sessions and django.contrib.auth (the stack keeps the session and
    # checks logins: views read environ["middleware.session"] and REMOTE_USER), and
    # django.contrib.messages (its default storage needs Django's sessions).
    "django.contrib.contenttypes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    # CSRF protection stays on: it uses its own cookie (CSRF_USE_SESSIONS is False), not a session.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Off: SessionMiddleware and AuthenticationMiddleware (see INSTALLED_APPS) and
    # GZipMiddleware (the stack compresses, with brotli and zstd as well).
]

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"

# No database: this project stores nothing but the session, which lives in the stack's store.
DATABASES = {}

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
