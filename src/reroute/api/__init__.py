"""The REST API (`/api/v1`): FastAPI routers, pydantic schemas, errors as problem+json."""
