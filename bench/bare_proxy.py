"""The baseline for bench/gateway.py: a bare ASGI passthrough (no keys, no routing, no usage) that
forwards each request's bytes to UPSTREAM with one pooled async HTTP client and streams the answer back.

    UPSTREAM=http://127.0.0.1:PORT uvicorn bench.bare_proxy:app
"""
import os

import httpx2 as httpx

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:8001")
DROPPED = {b"host", b"content-length", b"connection", b"transfer-encoding"}
client = httpx.AsyncClient(base_url=UPSTREAM, timeout=60, limits=httpx.Limits(max_keepalive_connections=64))


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = [(k, v) for k, v in scope["headers"] if k not in DROPPED]
    request = client.build_request(scope["method"], scope["path"], headers=headers, content=body)
    response = await client.send(request, stream=True)
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in DROPPED]})
    async for chunk in response.aiter_raw():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await response.aclose()
    await send({"type": "http.response.body", "body": b""})
