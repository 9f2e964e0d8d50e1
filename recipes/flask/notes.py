"""An existing Flask app, as you might already have one: notes kept in the visitor's session,
a sign-in form (Flask-Login) and CSRF-protected forms (Flask-WTF).

``use_suite_sessions(app)`` makes ``flask.session`` the session of the suite's stack, so the
views, Flask-Login and Flask-WTF all use the stack's cookie and store: the stack loads and
saves it. ``wsgi.py`` and ``wsgi_outer.py`` wrap this app; without the stack the first use of
the session raises an error that names the fix.

Environment: ``FLASK_SECRET_KEY`` (Flask-WTF signs its CSRF tokens with it) and
``HTPASSWD_FILE`` (who may sign in; the same file the stack's Basic auth reads).
"""

from __future__ import annotations

import os

from flask import (
    Flask,
    abort,
    flash,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from middleware import BasicAuth
from middleware.integrations.flask import use_suite_sessions

app = Flask(__name__)
# Let unhandled exceptions reach the suite's error page (or debug) layer instead of Flask
# turning them into its own bare 500 page.
app.config["PROPAGATE_EXCEPTIONS"] = True
# Not the session key (the stack signs the session): extensions such as Flask-WTF use it.
app.config["SECRET_KEY"] = os.environ["FLASK_SECRET_KEY"]

use_suite_sessions(app)        # flask.session is the stack's session
CSRFProtect(app)               # every POST needs the form's csrf_token (kept in the session)
login_manager = LoginManager(app)
login_manager.login_view = "login"
passwords = BasicAuth(htpasswd=os.environ["HTPASSWD_FILE"])


class User(UserMixin):
    def __init__(self, name: str) -> None:
        self.id = name


@login_manager.user_loader
def load_user(name: str) -> User | None:
    # a user removed from the file is signed out at the next request
    return User(name) if passwords.lookup(name) is not None else None


class NoteForm(FlaskForm):
    text = StringField("Note", validators=[DataRequired()])


class LoginForm(FlaskForm):
    username = StringField("User", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Notes</title></head>
<body><h1>Notes</h1>
{% for message in get_flashed_messages() %}<p class="flash">{{ message }}</p>{% endfor %}
<p>Signed in as <strong id="user">{{ current_user.id if current_user.is_authenticated
  else "nobody" }}</strong>
{% if current_user.is_authenticated %}
<form method="post" action="{{ url_for('logout') }}">{{ logout.csrf_token }}
<button>Sign out</button></form>
{% else %}(<a href="{{ url_for('login') }}">sign in</a>){% endif %}</p>
<form method="post" action="{{ url_for('add_note') }}">{{ form.csrf_token }}
{{ form.text(required=True) }} <button>Add</button></form>
<ol id="notes">{% for note in notes %}<li>{{ note }}</li>{% endfor %}</ol>
<p hidden>{{ "padding " * 100 }}</p>
</body></html>
"""

LOGIN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in</h1>{% if failed %}<p id="error">Wrong user name or password.</p>{% endif %}
<form method="post">{{ form.csrf_token }}
<label>User {{ form.username() }}</label> <label>Password {{ form.password() }}</label>
<button>Sign in</button></form></body></html>
"""


@app.get("/")
def index():
    return render_template_string(PAGE, notes=session.get("notes", []), form=NoteForm(),
                                  logout=FlaskForm(), get_flashed_messages=get_flashed_messages)


@app.post("/notes")
def add_note():
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    # assign a new list: the session saves what is assigned to it
    session["notes"] = [*session.get("notes", []), form.text.data.strip()]
    return redirect(url_for("index"), code=303)


@app.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        if passwords.check_password(form.username.data, form.password.data):
            # use_suite_sessions gives the session a new id here (Flask-Login's login signal)
            login_user(User(form.username.data))
            flash(f"Signed in as {form.username.data}.")
            return redirect(url_for("index"), code=303)
        failed = True
    return render_template_string(LOGIN, form=form, failed=failed)


@app.post("/logout")
def logout():
    logout_user()           # and a new session id; session.invalidate() would drop the notes too
    return redirect(url_for("index"), code=303)


@app.get("/api/notes")
def api_notes():
    return jsonify(notes=session.get("notes", []),
                   user=current_user.id if current_user.is_authenticated else None,
                   # which worker process answered: every worker sees the same session
                   worker=os.getpid())


@app.get("/account")
def account():
    # The stack's Basic auth lets nobody through without a valid login: REMOTE_USER is set.
    return render_template_string("<!doctype html><title>Account</title>"
                                  "<p>Hello {{ user }}.</p>", user=request.remote_user)


@app.get("/boom")
def boom():
    raise RuntimeError("a bug in a view")
