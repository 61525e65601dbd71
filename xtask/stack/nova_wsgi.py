"""Nova API WSGI app for gunicorn (`cargo xtask stack`).

Nova parses sys.argv with oslo.config when imported; gunicorn's own arguments would make it
fail with "unrecognized arguments" and the worker would restart forever. Hide them during the
import.

Nova 30 (2024.2) and later serve `nova.wsgi.osapi_compute:application`; in Nova 29
`nova.wsgi` is a module, not a package, and `nova.api.openstack.compute.wsgi` builds the app.
Nova up to 32 monkey-patches with eventlet at import unless told not to, which hangs gunicorn's
threaded worker (requests are logged as answered but no response leaves): tell it not to.
"""
import os
import sys

os.environ.setdefault("OS_NOVA_DISABLE_EVENTLET_PATCHING", "1")

_argv, sys.argv = sys.argv, sys.argv[:1]
try:
    try:
        from nova.wsgi.osapi_compute import application  # noqa: F401
    except ModuleNotFoundError as e:
        if e.name != "nova.wsgi.osapi_compute":
            raise
        from nova.api.openstack.compute.wsgi import init_application

        application = init_application()
finally:
    sys.argv = _argv
