"""The WSGI script mod_wsgi runs: the stack described by ``site.ini`` beside it.

It configures logging from the ini's ``[loggers]`` (mod_wsgi does not), then builds the
pipeline with PasteDeploy; a bad option stops the daemon process at start-up with the error in
Apache's error log.
"""

import os

from middleware import Pipeline
from middleware.serve import setup_logging

INI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site.ini")

setup_logging(INI)
application = Pipeline.from_ini(INI).wrap()
