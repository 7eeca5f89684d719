"""A gateway request as read off the ASGI scope: headers, client address, body and its JSON."""
import json
import random

from providers.clients.request_check import shape_problem, too_deep
from providers.gateway import errors


class Request:
    def __init__(self, scope, body):
        self.method, self.path = scope["method"], scope["path"]
        self.headers = {}
        for raw_name, raw_value in scope.get("headers", ()):
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            # A header sent on several lines is one comma-separated list (RFC 9110 5.3): no line is dropped.
            self.headers[name] = f"{self.headers[name]}, {value}" if name in self.headers else value
        client = scope.get("client")
        self.address = client[0] if client else "unknown"
        self.body = body
        self.id = f"req_gw_{random.getrandbits(96):024x}"  # unique, not secret: no system call for it
        self.cache_status = None  # hit, miss or refresh when the response cache was consulted

    def json(self):
        if not self.body:
            raise errors.invalid("The request body is empty: send a JSON object.")
        try:
            data = json.loads(self.body.decode("utf-8"))
        except UnicodeDecodeError:
            raise errors.invalid("The request body is not UTF-8 JSON.") from None
        except json.JSONDecodeError as exc:
            raise errors.invalid(f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} "
                                 f"column {exc.colno}.") from None
        except RecursionError:
            raise errors.invalid(too_deep("The request body")) from None
        if not isinstance(data, dict):
            raise errors.invalid("The request body must be a JSON object.")
        return data

    def checked_json(self):
        """json(), refused when it nests too deeply or holds a NaN / Infinity (request_check.shape_problem)."""
        data = self.json()
        problem = shape_problem(data)
        if problem is not None:
            raise errors.invalid(problem)
        return data


def with_betas(request, data):
    """The anthropic-beta header's flags join the body's `betas` (the choke point sends them on)."""
    flags = [f.strip() for f in request.headers.get("anthropic-beta", "").split(",") if f.strip()]
    if flags:
        betas = data.get("betas") or []
        if not isinstance(betas, list):
            raise errors.invalid("betas must be a list of beta flag names.")
        data = {**data, "betas": list(dict.fromkeys([*betas, *flags]))}
    return data
