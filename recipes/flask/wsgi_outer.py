"""Way 2: wrap the whole Flask app; serve ``application`` instead of ``app``.

Use it when the same stack wraps several apps (for example under werkzeug's
``DispatcherMiddleware``) or when you must not touch the app object. ``flask run`` and
``app.test_client()`` then bypass the stack: serve ``application``::

    cd recipes/flask
    SESSION_SECRET=... FLASK_SECRET_KEY=... HTPASSWD_FILE=users.htpasswd gunicorn wsgi_outer:application
"""

from notes import app
from stack import stack

application = stack().wrap(app)
