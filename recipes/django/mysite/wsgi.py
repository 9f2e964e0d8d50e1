"""WSGI entry point: Django's application wrapped in the suite's stack.

Serve it from this folder, for example::

    cd recipes/django
    DJANGO_SECRET_KEY=... SESSION_SECRET=... HTPASSWD_FILE=users.htpasswd \\
        gunicorn mysite.wsgi:application --bind 127.0.0.1:8000

Environment: ``SESSION_SECRET`` (required; commas separate rotated keys, newest first),
``SESSION_STORE`` (default ``cookie``; ``redis://host:6379/0`` or ``sqlite:////abs/path.db``
keep the data on the server), ``HTPASSWD_FILE`` (required: who may open ``/account/``).
"""

import os

from django.core.wsgi import get_wsgi_application

from middleware import (
    AuthMiddleware,
    BasicAuth,
    CompressionMiddleware,
    ErrorPageMiddleware,
    Pipeline,
    SessionMiddleware,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

application = (
    Pipeline()
    .use(ErrorPageMiddleware)
    .use(CompressionMiddleware)
    .use(SessionMiddleware, secret_key=os.environ["SESSION_SECRET"].split(","),
         store=os.environ.get("SESSION_STORE", "cookie"))
    .use(AuthMiddleware, backends=[BasicAuth(htpasswd=os.environ["HTPASSWD_FILE"])],
         realm="mysite",
         # the admin has its own login form (Django users); /account/ asks the stack for one
         public_paths=["/", "/api/", "/boom/", "/admin/*", "/static/*"])
    .wrap(get_wsgi_application())
)
