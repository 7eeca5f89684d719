"""The ASGI entry point: /v1/ goes to the lean gateway (gateway.app), everything else to Django.

The gateway is a plain ASGI app so the path in front of every model call stays short; the
dashboard stays Django. Lifespan is answered here (Django's handler refuses it): at shutdown
the usage this process buffered is written.
"""
import os

from anyio import to_thread
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "moments_admin.settings")
django_application = get_asgi_application()  # sets Django up before the gateway imports models

from gateway.app import application as gateway_application  # noqa: E402
from usage.ingest import flush_usage_buffer  # noqa: E402

GATEWAY_PREFIX = "/v1/"


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
            await to_thread.run_sync(flush_usage_buffer)
            await send({"type": "lifespan.shutdown.complete"})
            return
