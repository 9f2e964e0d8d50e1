"""One in-process Django for the tests that run a Django app without a project.

Django's settings are global to the process and can be configured once, so every test module
configures them here, the same way, and picks its own URLs and middleware with
``override_settings(ROOT_URLCONF=__name__, ...)``.
"""

from __future__ import annotations

#: the default URL configuration (none): each test module overrides ``ROOT_URLCONF``
urlpatterns: list = []


def configure_django() -> None:
    """Configure and set up Django once per process, with no apps, middleware or URLs."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, SECRET_KEY="django-test-only", ALLOWED_HOSTS=["*"],
                           ROOT_URLCONF=__name__, MIDDLEWARE=[], INSTALLED_APPS=[],
                           USE_TZ=True)
        django.setup()
