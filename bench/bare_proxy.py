"""The baseline for bench/gateway.py: a bare ASGI passthrough (no keys, no routing, no usage) that
forwards each request's bytes to UPSTREAM with one pooled aiohttp session and streams the answer back,
as issue 12 measured it.

    UPSTREAM=http://127.0.0.1:PORT uvicorn bench.bare_proxy:app
"""
import os

import aiohttp

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:8001")
DROPPED = {"host", "content-length", "connection", "transfer-encoding"}
session = None


async def app(scope, receive, send):
    global session
    if scope["type"] != "http":
        return
    if session is None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), auto_decompress=False)
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode(): v.decode() for k, v in scope["headers"] if k.decode() not in DROPPED}
    async with session.request(scope["method"], UPSTREAM + scope["path"], headers=headers, data=body) as response:
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [(k.lower(), v) for k, v in response.raw_headers if k.lower().decode() not in DROPPED]})
        async for chunk in response.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
