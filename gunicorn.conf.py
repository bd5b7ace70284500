"""gunicorn's settings for the web app; gunicorn reads ./gunicorn.conf.py by itself.

Start it from the repository: `.venv/bin/gunicorn` (the app is wsgi:app). Every setting
comes from a GUNICORN_* environment variable with a default fit for one machine behind
nginx; `gunicorn --check-config` checks them. See README.md, "Production".
"""

import os

from contracts.logs import gunicorn_logconfig


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


wsgi_app = "wsgi:app"
proc_name = "kontraktsregister"

# Listen on the loopback only: nginx in front terminates TLS, and the app trusts its
# X-Forwarded-For (TRUSTED_PROXY_COUNT), which nobody else must be able to send.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

# Processes × threads serve requests. Each worker builds its own app and database pool
# after the fork (no preload_app: a pool must not be shared between processes). Every
# thread may hold a PostgreSQL connection: workers × threads (plus the scheduler's few)
# must stay below the server's max_connections.
workers = _int("GUNICORN_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 8))
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"  # with threads > 1 also a slow client holds one thread only

# A worker silent this long (hung, not merely busy: with threads its main loop keeps
# reporting while requests run) is killed and restarted. The slowest page, an OCDS export
# of 100 000 contracts, takes about 15 s; nginx's proxy_read_timeout bounds a request.
timeout = _int("GUNICORN_TIMEOUT", 60)
# On SIGTERM or SIGHUP, running requests get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Restarting a worker after so many requests (plus a random jitter, so that they do not
# all restart at once) bounds a slow leak. Off by default: spreadsheet imports run in a
# thread of the worker, and a restart ends a running import without saving it.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", max(max_requests // 10, 0))

# gunicorn 25.1 and later open a control socket (for `gunicornc`) in $HOME, which the
# service user may not have; systemctl reload and restart do what is needed.
control_socket_disable = True

# Which addresses may tell gunicorn the scheme through X-Forwarded-Proto: the proxy's.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Refuse oversized request heads early (gunicorn's defaults, stated). Bodies are limited
# by the app's MAX_CONTENT_LENGTH and nginx's client_max_body_size.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Logs: JSON lines on stderr (LOG_FORMAT=text for people), gunicorn's own messages
# through the app's handler, and no access log of gunicorn's: the app writes one line
# per request, with the request id and without the query string (search terms).
os.environ.setdefault("LOG_FORMAT", "json")
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
accesslog = None
errorlog = "-"
logconfig_dict = gunicorn_logconfig(os.environ["LOG_FORMAT"], loglevel)
