"""The REST API: /api/v1/..., documented at /api/docs."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Leadflow API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
