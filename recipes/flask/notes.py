"""An existing Flask app, as you might already have one: notes kept in the visitor's session.

Nothing here knows about the middleware stack except :func:`session`, which reads the suite's
session from the WSGI environ: the middleware loads and saves it, the views just use it.
``wsgi.py`` and ``wsgi_outer.py`` wrap this app; run this file alone and it has no session.
"""

from __future__ import annotations

from flask import Flask, abort, jsonify, redirect, render_template_string, request, url_for

app = Flask(__name__)
# Let unhandled exceptions reach the suite's error page (or debug) layer instead of Flask
# turning them into its own bare 500 page.
app.config["PROPAGATE_EXCEPTIONS"] = True

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Notes</title></head>
<body><h1>Notes</h1>
<p>Signed in as <strong id="user">{{ user or "nobody" }}</strong>
(<a href="{{ url_for('account') }}">account</a>)</p>
<form method="post" action="{{ url_for('add_note') }}">
<input name="text" required> <button>Add</button></form>
<ol id="notes">{% for note in notes %}<li>{{ note }}</li>{% endfor %}</ol>
<p hidden>{{ "padding " * 100 }}</p>
</body></html>
"""


def session():
    """The suite's session for this request (``environ["middleware.session"]``)."""
    try:
        return request.environ["middleware.session"]
    except KeyError:
        abort(500, "the app runs without SessionMiddleware: serve wsgi.py, not notes.py")


@app.get("/")
def index():
    return render_template_string(PAGE, notes=session().get("notes", []),
                                  user=request.remote_user)


@app.post("/notes")
def add_note():
    text = request.form.get("text", "").strip()
    if text:
        current = session()
        # assign a new list: the session saves what is assigned to it
        current["notes"] = [*current.get("notes", []), text]
    return redirect(url_for("index"), code=303)


@app.get("/api/notes")
def api_notes():
    return jsonify(notes=session().get("notes", []), user=request.remote_user)


@app.get("/account")
def account():
    # The auth layer lets nobody through without a valid login: REMOTE_USER is always set here.
    return render_template_string("<!doctype html><title>Account</title>"
                                  "<p>Hello {{ user }}.</p>", user=request.remote_user)


@app.get("/boom")
def boom():
    raise RuntimeError("a bug in a view")
