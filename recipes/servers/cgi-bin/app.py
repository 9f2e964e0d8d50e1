"""The stack as a CGI script: the web server runs this file once per request.

``wsgiref.handlers.CGIHandler`` turns the CGI environment into a WSGI ``environ`` and the WSGI
response into CGI output. Every request starts a fresh Python process that imports and builds
the whole stack, so CGI suits low traffic only, and sessions need a store on disk or on a
server (SQLite by default; never ``memory``). ``lighttpd-cgi.conf`` runs it.
"""

import os
import sys
from wsgiref.handlers import CGIHandler

# The repository root, so that ``recipes`` is importable whatever directory the server uses.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))

from recipes.servers.stack import application

CGIHandler().run(application)
