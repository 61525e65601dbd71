"""Glance WSGI app for gunicorn (`cargo xtask stack`).

Glance 30 (2025.1) and later serve `glance.wsgi.api:application`; older releases have no
`glance.wsgi` package and build the app with `glance.common.wsgi_app.init_app()` (what their
`glance-wsgi-api` script does). Both read the config dir from OS_GLANCE_CONFIG_DIR.
"""
try:
    from glance.wsgi.api import application  # noqa: F401
except ModuleNotFoundError as e:
    if e.name != "glance.wsgi":
        raise
    from glance.common.wsgi_app import init_app

    application = init_app()
