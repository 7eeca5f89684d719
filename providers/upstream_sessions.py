"""Pooled aiohttp sessions for the gateway's upstream calls: one per event loop and TLS setting.

Connections stay open between requests (keep-alive), so a forwarded call costs no TCP or TLS
handshake. A CA bundle path becomes an SSL context once; `verify=False` turns checking off,
as the provider's setting says (the SDK path honours the same setting).
"""
import asyncio
import ssl

import aiohttp

_sessions = {}  # (loop, verify) -> ClientSession


def session_for(verify):
    loop = asyncio.get_running_loop()
    key = (loop, verify)
    session = _sessions.get(key)
    if session is None or session.closed:
        if isinstance(verify, str):
            tls = ssl.create_default_context(cafile=verify)
        else:
            tls = None if verify else False
        connector = aiohttp.TCPConnector(limit=0, ssl=tls, keepalive_timeout=30, enable_cleanup_closed=True)
        # No cookies; a compressed answer is decompressed here (the gateway sends its own content-length).
        session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                        auto_decompress=True, skip_auto_headers=("User-Agent",))
        _sessions[key] = session
    return session


async def close_sessions():
    """Close this loop's sessions (the server's shutdown)."""
    loop = asyncio.get_running_loop()
    for key in [k for k in _sessions if k[0] is loop]:
        await _sessions.pop(key).close()
