"""Views that use ``request.session`` (the stack's session) and ``request.user``."""

import os

from django.http import HttpResponse, JsonResponse
from django.utils.html import escape


def user_name(request):
    """The signed-in Django user's name, or ``None``."""
    return request.user.get_username() if request.user.is_authenticated else None


def index(request):
    request.session["visits"] = visits = request.session.get("visits", 0) + 1
    user = escape(user_name(request) or "nobody")
    padding = "<p hidden>" + "padding " * 100 + "</p>"
    return HttpResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>mysite</title></head>"
        f"<body><h1>mysite</h1><p>Visits in this session: <strong id='visits'>{visits}</strong></p>"
        f"<p>Signed in as <strong id='user'>{user}</strong> "
        f"(<a href='/account/'>account</a>, <a href='/admin/'>admin</a>)</p>{padding}"
        "</body></html>")


def api(request):
    return JsonResponse({"visits": request.session.get("visits", 0),
                         "user": user_name(request),
                         # which worker process answered: every worker sees the same session
                         "worker": os.getpid(),
                         "items": [f"item {i}" for i in range(50)]})


def account(request):
    # The stack's auth layer lets nobody through without a valid login, and
    # PersistentRemoteUserMiddleware has made its REMOTE_USER the Django user.
    return HttpResponse(f"<!doctype html><title>account</title>"
                        f"<p>Hello {escape(user_name(request))}.</p>")


def boom(request):
    raise RuntimeError("a bug in a view")
