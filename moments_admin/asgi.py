"""The ASGI entry point: /v1/ goes to the lean gateway (providers.gateway.app), everything else to Django.

The gateway is a plain ASGI app so the path in front of every model call stays short; the
dashboard stays Django. Lifespan is answered here (Django's handler refuses it): the server's
graceful shutdown (uvicorn on SIGTERM, after in-flight requests end) writes the usage this
process buffered.
"""
import os

from asgiref.sync import sync_to_async
from django.core.asgi import get_asgi_application
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "moments_admin.settings")
django_application = get_asgi_application()  # sets Django up before the gateway imports models

from providers.background import bookkeeping  # noqa: E402
from providers.gateway.app import application as gateway_application  # noqa: E402
from providers.upstream_sessions import close_sessions  # noqa: E402
from usage.ingest import flush_usage_buffer  # noqa: E402 (needs the apps loaded above)
from usage.services import hit_rows  # noqa: E402

GATEWAY_PREFIX = "/v1/"


def _flush_at_shutdown():
    try:
        bookkeeping.wait(30)  # the gateway's last usage records, then the buffer they may have gone to
        hit_rows.wait(30)  # response-cache hits' rows on their way to the usage queue
        flush_usage_buffer()
    finally:
        connections.close_all()  # the executor thread's connection: nothing else will close it


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    elif scope["type"] == "http" and (scope["path"] + "/").startswith(GATEWAY_PREFIX):
        await gateway_application(scope, receive, send)
    else:
        await django_application(scope, receive, send)


async def lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await close_sessions()
                await sync_to_async(_flush_at_shutdown)()
            except Exception as error:  # report it to the server, which logs it
                await send({"type": "lifespan.shutdown.failed", "message": f"flushing usage failed: {error}"})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return
