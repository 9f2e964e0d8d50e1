"""Way 1: wrap ``app.wsgi_app`` and keep the Flask object (recommended).

``app`` stays a Flask app: ``flask --app wsgi run``, ``gunicorn wsgi:app``, ``app.test_client()``
and extensions all keep working, and every request goes through the stack::

    cd recipes/flask
    SESSION_SECRET=... FLASK_SECRET_KEY=... HTPASSWD_FILE=users.htpasswd gunicorn wsgi:app
"""

from notes import app
from stack import stack

app.wsgi_app = stack().wrap(app.wsgi_app)
