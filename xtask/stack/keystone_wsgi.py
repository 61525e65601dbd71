"""Keystone WSGI app for gunicorn (`cargo xtask stack`).

Keystone parses sys.argv with oslo.config when imported; gunicorn's own arguments would make it
fail with "unrecognized arguments" and the worker would restart forever. Hide them during the
import.

Keystone 27 (2025.1) and later serve `keystone.wsgi.api:application`; older releases have no
`keystone.wsgi` package and build the app with `keystone.server.wsgi`.
"""
import sys

_argv, sys.argv = sys.argv, sys.argv[:1]
try:
    try:
        from keystone.wsgi.api import application  # noqa: F401
    except ModuleNotFoundError as e:
        if e.name != "keystone.wsgi":
            raise
        from keystone.server.wsgi import initialize_public_application

        application = initialize_public_application()
finally:
    sys.argv = _argv
