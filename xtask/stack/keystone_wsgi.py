"""Keystone WSGI app for gunicorn (`cargo xtask stack`).

Keystone parses sys.argv with oslo.config when imported; gunicorn's own arguments would make it
fail with "unrecognized arguments" and the worker would restart forever. Hide them during the
import.
"""
import sys

_argv, sys.argv = sys.argv, sys.argv[:1]
try:
    from keystone.wsgi.api import application  # noqa: F401
finally:
    sys.argv = _argv
