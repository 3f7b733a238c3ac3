"""`/openapi.json` as the server behaves, and the interactive docs served from the app itself.

FastAPI's document knows only what routes declare. What the layers around them do is added
here by walking every route, so an operation added later is covered without a word about it:

- every error answer is `application/problem+json` with one `Problem` schema (FastAPI's
  `HTTPValidationError` is gone), for the statuses the operation can answer: 400 and 503
  (`InputLimits`, a busy database) everywhere, 401/403/429 where a token is taken, 404 where
  the path has an id, 409/413/422 on writes (`Idempotency-Key`) and where a body or parameter
  is read, 412 where `If-Match` is taken, and any the route declares;
- 200 and 201 both, with the same body, where an operation answers both;
- the `Idempotency-Key` and `X-Request-ID` headers where they are read;
- operation ids: the handler's name in camelCase (`create_order` → `createOrder`);
- each request body's example lifted beside its schema; tags with descriptions;
- the event payloads under `webhooks`, with the Standard Webhooks signature headers.

Swagger UI (`/docs`) and ReDoc (`/redoc`) load their scripts from the `fastapi-offline`
package's copy under `/docs/assets`: nothing is fetched from another address.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from reroute.api import deps
from reroute.api.idempotency import MAX_KEY, WRITES
from reroute.api.problems import PROBLEM

SCHEMAS = "#/components/schemas/"
PROBLEM_SCHEMA = "Problem"
PROBLEM_ERROR_SCHEMA = "ProblemError"
#: FastAPI's own error shapes, which the server never sends.
FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")

#: What each error status means when the route says nothing more precise.
ERRORS: dict[int, str] = {
    400: "A header or Content-Length that cannot be read",
    401: "No API token, or one that is not valid (any more)",
    403: "The token's role or facilities do not allow this",
    404: "Not found",
    409: (
        "In conflict with the current state, or a request with this Idempotency-Key "
        "is in progress (retry after `Retry-After` seconds)"
    ),
    412: "If-Match does not match: someone else saved a change first; read it again",
    413: "The request body is too large",
    422: "Invalid input: `errors[]` names each field that was refused and why",
    429: "Too many requests for this token: wait `Retry-After` seconds",
    503: "The database is busy: try again after `Retry-After` seconds",
}
#: Descriptions FastAPI fills in by itself (the status phrase); ours say more.
_FASTAPI_DESCRIPTIONS = {
    "Not Found",
    "Conflict",
    "Unprocessable Entity",
    "Validation Error",
    "Precondition Failed",
    "Too Many Requests",
    "Bad Request",
    "Unauthorized",
    "Forbidden",
    "Content Too Large",
    "Request Entity Too Large",
    "Service Unavailable",
    "Additional Response",
}
_RETRY_AFTER = {
    "description": "Seconds to wait before sending again",
    "schema": {"type": "integer", "minimum": 0},
}
ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    409: {"Retry-After": _RETRY_AFTER},
    429: {"Retry-After": _RETRY_AFTER},
    503: {"Retry-After": _RETRY_AFTER},
}

#: Operations that create at a client-chosen id or replace what is there (PUT): 201 when
#: created, 200 when replaced, the same body either way (the handler sets the status).
CREATE_OR_REPLACE = {"put_facility", "put_product", "put_reason"}

#: The tags' descriptions; a tag not named here is described by its router's docstring.
TAGS: dict[str, str] = {
    "orders": "Create orders (idempotent on the order id), read them and sync them by cursor.",
    "shipments": "A store's shipment lists and the steps of a shipment: start, pack, fulfill.",
    "rejection": (
        "A store rejects items or whole shipments with a reason; the items are routed "
        "again at once. The reasons and the log of rejections."
    ),
    "cancellation": "Cancel orders, items and shipments; hand a shipment to customer care.",
    "facilities and products": "The catalog: stores and warehouses, and the products sold.",
    "inventory": "Stock counts, levels (QOH and ATP) and the ledger of every move.",
    "blocks": "Products routing keeps away from a facility: blocks asked for, holds after a "
    "rejection.",
    "routing": "The routing rules document and batch runs of routing.",
    "notifications": (
        "Webhook subscriptions (signed by Standard Webhooks), their deliveries, and the "
        "pull-based event feed."
    ),
    "admin": "Settings and API tokens.",
}

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Any unique text: the request takes effect once. A repeat gets the first answer, "
        "marked `Idempotent-Replayed: true`; the same key with another request is refused "
        "(422); a refusal (4xx) keeps nothing, so the key can be sent again."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
}
REQUEST_ID: dict[str, Any] = {
    "name": "X-Request-ID",
    "in": "header",
    "required": False,
    "description": (
        "Your id for this request, kept in the order's history: up to 64 visible ASCII "
        "characters (another value is replaced by a new id)."
    ),
    "schema": {"type": "string", "maxLength": 64},
}
REPLAYED: dict[str, Any] = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
WEBHOOK_HEADERS: list[dict[str, Any]] = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The event's id: the same on every retry, so drop a duplicate.",
        "schema": {"type": "string"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds when it was signed: refuse ones far from now.",
        "schema": {"type": "string"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": (
            "`v1,<base64 HMAC-SHA256>`, space-separated when several secrets sign "
            "(Standard Webhooks): verify with the `whsec_` secret."
        ),
        "schema": {"type": "string"},
    },
]
EVENT_MODELS_MODULE = "reroute.api.schemas.events"
#: Examples of request bodies declared beside their routers rather than in `api.schemas`
#: (those carry their own, in `json_schema_extra`).
BODY_EXAMPLES: dict[str, dict[str, Any]] = {
    "ReasonBody": {"reason_id": "NOT_IN_STOCK", "comment": "The customer asked to cancel."},
}

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets"
#: The docs pages load from the app alone; the browser refuses anything else (ReDoc's
#: script would fetch its logo from a CDN). Swagger UI's inline start-up script is allowed by
#: its hash.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


class ProblemError(BaseModel):
    """One refused field of a 422."""

    path: str
    message: str


class Problem(BaseModel):
    """An error answer (RFC 9457), `application/problem+json`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemError] | None = None


def install(app: FastAPI) -> None:
    """Serve the conforming document at `app.openapi_url`, Swagger UI at /docs and ReDoc at
    /redoc (create `app` with `docs_url=None, redoc_url=None`)."""
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=None,
            # No badge from the public validator: nothing leaves for another address.
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )
        return _confined(page)

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        return _confined(page)


def _confined(page: HTMLResponse) -> HTMLResponse:
    """The page with a Content-Security-Policy that lets it load from the app only."""
    html = bytes(page.body).decode()
    hashes = "".join(
        " 'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.findall(html)
    )
    page.headers["Content-Security-Policy"] = DOCS_POLICY.format(scripts=hashes)
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def document(app: FastAPI) -> dict[str, Any]:
    """The document, built once per application."""
    if app.openapi_schema is None:
        built = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            webhooks=app.webhooks.routes,
            servers=app.servers,
        )
        conform(built, list(api_routes(app)))
        app.openapi_schema = built
    return app.openapi_schema


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every route of the document (route contexts that act as `APIRoute`s)."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            yield route


def operation_id(name: str) -> str:
    """`create_order` → `createOrder`, `StoreDeclineEvent` → `storeDeclineEvent`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    if not words:
        return "operation"
    first = words[0][0].lower() + words[0][1:]
    return first + "".join(w[0].upper() + w[1:] for w in words[1:])


def conform(doc: dict[str, Any], routes: list[Any]) -> None:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    _add_problem_schemas(schemas)
    _add_body_examples(schemas)
    seen: set[str] = set()
    for route in routes:
        for method in sorted(route.methods or ()):
            operation = doc["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            # Two handlers of one name would clash: the second gets a number (a test catches it).
            operation["operationId"] = _unique(operation_id(route.name), seen)
            _conform_operation(operation, route, method, schemas)
    for name in FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    doc["tags"] = _tags(doc, routes)
    webhooks = _webhooks(schemas, seen)
    if webhooks:
        doc["webhooks"] = {**doc.get("webhooks", {}), **webhooks}


def _add_body_examples(schemas: dict[str, Any]) -> None:
    for name, example in BODY_EXAMPLES.items():
        if name in schemas and "examples" not in schemas[name]:
            schemas[name]["examples"] = [example]


def _add_problem_schemas(schemas: dict[str, Any]) -> None:
    found = Problem.model_json_schema(ref_template=SCHEMAS + "{model}")
    for name, schema in found.pop("$defs", {}).items():
        schemas[name] = schema
    # `errors` is there on every 422 and left out otherwise, never null.
    found["properties"]["errors"] = {
        "type": "array",
        "items": {"$ref": SCHEMAS + PROBLEM_ERROR_SCHEMA},
        "description": "Each refused field (on 422)",
    }
    found["required"] = ["type", "title", "status", "detail", "instance"]
    schemas[PROBLEM_SCHEMA] = found


def _calls(dependant: Dependant) -> Iterator[Dependant]:
    pending = [dependant]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(current.dependencies)


def _conform_operation(
    operation: dict[str, Any], route: Any, method: str, schemas: dict[str, Any]
) -> None:
    dependants = list(_calls(route.dependant))
    calls = {d.call for d in dependants if d.call is not None}
    headers = {
        (p.alias or p.name).lower().replace("_", "-") for d in dependants for p in d.header_params
    }
    has_params = any(
        d.path_params or d.query_params or d.header_params or d.cookie_params for d in dependants
    )
    has_path_ids = any(d.path_params for d in dependants)
    has_body = route.body_field is not None
    is_write = method in WRITES and route.path_format.startswith("/api/")
    authenticated = deps.get_principal in calls
    declared = {int(s) for s in route.responses if str(s).isdigit()}

    statuses = {400, 503} | {s for s in declared if s >= 400}
    if authenticated:
        statuses |= {401, 403, 429}
    if has_path_ids:
        statuses.add(404)
    if is_write:
        statuses |= {409, 413, 422}
    if has_body:
        statuses |= {413, 422}
    if has_params:
        statuses.add(422)
    if "if-match" in headers:
        statuses.add(412)

    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in sorted(statuses):
        given = responses.get(str(status), {}).get("description", "")
        own = given if given and given not in _FASTAPI_DESCRIPTIONS else ERRORS.get(status)
        answer: dict[str, Any] = {
            "description": own or "Refused",
            "content": {PROBLEM: {"schema": {"$ref": SCHEMAS + PROBLEM_SCHEMA}}},
        }
        if status in ERROR_HEADERS:
            answer["headers"] = copy.deepcopy(ERROR_HEADERS[status])
        responses[str(status)] = answer
    _conform_success(responses, route)
    ordered = dict(sorted(responses.items()))
    responses.clear()
    responses.update(ordered)

    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    present = {p.get("name", "").lower() for p in parameters if p.get("in") == "header"}
    if is_write and "idempotency-key" not in present:
        parameters.append(copy.deepcopy(IDEMPOTENCY_KEY))
    if deps.request_id in calls and "x-request-id" not in present:
        parameters.append(copy.deepcopy(REQUEST_ID))
    if not parameters:
        operation.pop("parameters")
    if is_write:
        for code, success in responses.items():
            if code.startswith("2"):
                success.setdefault("headers", {}).update(copy.deepcopy(REPLAYED))
    _lift_example(operation, schemas)


def _conform_success(responses: dict[str, Any], route: Any) -> None:
    """Every 2xx that carries the route's body says so (FastAPI leaves a declared extra 200
    or 201 without content, and a generated client then reads nothing)."""
    main = str(route.status_code or 200)
    if route.name in CREATE_OR_REPLACE:
        responses.setdefault("201", {"description": "Created"})
        responses.setdefault("200", {"description": "Replaced"})
        for status, text in (("201", "Created"), ("200", "Replaced")):
            if responses[status].get("description") == "Successful Response":
                responses[status]["description"] = text
    body = responses.get(main, {}).get("content")
    if not body:
        return
    for status, answer in responses.items():
        if status.startswith("2") and status != "204" and not answer.get("content"):
            answer["content"] = copy.deepcopy(body)


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The schema and what it refers to, through `$ref` and `anyOf` (an optional body)."""
    pending = [schema]
    while pending:
        current = pending.pop(0)
        yield current
        ref = current.get("$ref", "")
        if ref.startswith(SCHEMAS) and ref[len(SCHEMAS) :] in schemas:
            pending.append(schemas[ref[len(SCHEMAS) :]])
        pending.extend(s for s in current.get("anyOf", []) if isinstance(s, dict))


def _lift_example(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Put the body's first example beside its schema, where every tool finds it."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        if "example" in media or "examples" in media:
            continue
        for schema in _resolve(media.get("schema", {}), schemas):
            examples = schema.get("examples")
            if isinstance(examples, list) and examples:
                media["example"] = examples[0]
                break
            if isinstance(examples, dict) and examples:
                media["example"] = next(iter(examples.values()))
                break


def _tags(doc: dict[str, Any], routes: list[Any]) -> list[dict[str, str]]:
    modules: dict[str, str] = {}
    for route in routes:
        for tag in route.tags or ():
            modules.setdefault(str(tag), getattr(route.endpoint, "__module__", ""))
    used: list[str] = []
    for path in doc["paths"].values():
        for operation in path.values():
            used.extend(t for t in operation.get("tags", []) if t not in used)
    tags = []
    for tag in used:
        module = sys.modules.get(modules.get(tag, ""))
        docstring = (module.__doc__ or "").strip() if module is not None else ""
        description = TAGS.get(tag) or docstring.split("\n\n")[0].replace("\n", " ") or tag
        tags.append({"name": tag, "description": description})
    return tags


def event_models() -> dict[str, type[BaseModel]]:
    """Each event type's payload model, where the events module defines them."""
    try:
        module = importlib.import_module(EVENT_MODELS_MODULE)
    except ImportError:
        return {}
    models = getattr(module, "EVENT_MODELS", {})
    return {str(k): v for k, v in dict(models).items()}


def _webhooks(schemas: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    """One `POST` per event type: the body a subscriber receives, signed."""
    models = event_models()
    if not models:
        return {}
    found: dict[str, Any] = {}
    for event_type, model in models.items():
        schema = model.model_json_schema(mode="serialization", ref_template=SCHEMAS + "{model}")
        definitions = {**schema.pop("$defs", {}), model.__name__: schema}
        renamed = {n: _free_name(schemas, n, d) for n, d in definitions.items()}
        for n, definition in definitions.items():
            schemas[renamed[n]] = _renamed_refs(definition, renamed)
            if renamed[n] != n:  # generators name their classes by the title
                schemas[renamed[n]]["title"] = renamed[n]
        name = renamed[model.__name__]
        schema = schemas[name]
        camel = operation_id(event_type)
        op_id = _unique("on" + camel[:1].upper() + camel[1:], taken)
        body: dict[str, Any] = {"schema": {"$ref": SCHEMAS + name}}
        examples = schema.get("examples")
        if isinstance(examples, list) and examples:
            body["example"] = examples[0]
        doc = (model.__doc__ or "").strip()
        found[event_type] = {
            "post": {
                "tags": ["notifications"],
                "summary": f"The {event_type} event",
                "description": doc or f"Sent to webhooks subscribed to `{event_type}`.",
                "operationId": op_id,
                "parameters": copy.deepcopy(WEBHOOK_HEADERS),
                "requestBody": {"required": True, "content": {"application/json": body}},
                "responses": {
                    "200": {
                        "description": (
                            "Any 2xx within the timeout: delivered. Anything else is tried "
                            "again later with the same webhook-id."
                        )
                    }
                },
            }
        }
    return found


def _free_name(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> str:
    """`name`, or `name` + "Event" where an API schema of another shape has the name."""
    while name in schemas and schemas[name] != schema:
        name += "Event"
    return name


def _renamed_refs(value: Any, renamed: dict[str, str]) -> Any:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMAS) and ref[len(SCHEMAS) :] in renamed:
            value = {**value, "$ref": SCHEMAS + renamed[ref[len(SCHEMAS) :]]}
        return {k: _renamed_refs(v, renamed) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed_refs(v, renamed) for v in value]
    return value


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}{n}", n + 1
    taken.add(candidate)
    return candidate
