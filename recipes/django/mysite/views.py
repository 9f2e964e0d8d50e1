"""Views that use the stack's session and login through ``request.environ``."""

from django.http import HttpResponse, JsonResponse
from django.utils.html import escape


def session(request):
    """The suite's session for this request (``environ["middleware.session"]``)."""
    return request.environ["middleware.session"]


def index(request):
    current = session(request)
    current["visits"] = visits = current.get("visits", 0) + 1
    user = escape(request.META.get("REMOTE_USER") or "nobody")
    padding = "<p hidden>" + "padding " * 100 + "</p>"
    return HttpResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>mysite</title></head>"
        f"<body><h1>mysite</h1><p>Visits in this session: <strong id='visits'>{visits}</strong></p>"
        f"<p>Signed in as <strong id='user'>{user}</strong> "
        f"(<a href='/account/'>account</a>)</p>{padding}</body></html>")


def api(request):
    return JsonResponse({"visits": session(request).get("visits", 0),
                         "user": request.META.get("REMOTE_USER"),
                         "items": [f"item {i}" for i in range(50)]})


def account(request):
    # The auth layer lets nobody through without a valid login: REMOTE_USER is always set here.
    return HttpResponse(f"<!doctype html><title>account</title>"
                        f"<p>Hello {escape(request.META['REMOTE_USER'])}.</p>")


def boom(request):
    raise RuntimeError("a bug in a view")
