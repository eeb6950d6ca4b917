"""The OpenAPI schema documents every endpoint of DESIGN.md's table, and its docs page loads
no inline script and nothing from outside the site."""

import re

import pytest
import yaml
from drf_spectacular.validation import validate_schema

DESIGN_PATHS = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/categories/": {"get"},
    "/api/v1/providers/": {"get"},
    "/api/v1/providers/{slug}/": {"get"},
    "/api/v1/providers/{slug}/reviews/": {"get"},
    "/api/v1/reviews/": {"post"},
    "/api/v1/reviews/{id}/": {"get", "patch", "delete"},
    "/api/v1/reviews/{id}/helpful/": {"post", "delete"},
    "/api/v1/reviews/{id}/reports/": {"post"},
    "/api/v1/reviews/{id}/reply/": {"post"},
    "/api/v1/tickets/": {"get"},
    "/api/v1/tickets/{id}/": {"get"},
    "/api/v1/tickets/{id}/messages/": {"post"},
    "/api/v1/tickets/{id}/transition/": {"post"},
    "/api/v1/business/providers/{slug}/invitations/": {"post"},
}


@pytest.fixture
def schema(db, client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)  # raises unless it validates against the OpenAPI 3.0 JSON schema
    assert schema["openapi"].startswith("3.")
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_every_design_endpoint_is_documented_with_its_errors(schema):
    for path, methods in DESIGN_PATHS.items():
        assert path in schema["paths"], path
        for method in methods:
            operation = schema["paths"][path][method]
            assert operation.get("summary"), (path, method)
            codes = set(operation["responses"])
            if method == "get":
                assert "404" in codes or "400" in codes, (path, codes)
            elif path == "/api/v1/auth/token/":
                assert {"400", "429"} <= codes
            elif path == "/api/v1/reviews/":  # a new review has no owner to refuse or hide
                assert {"400", "401", "429"} <= codes
            else:
                assert {"400", "401", "403", "404", "429"} <= codes, (path, method, codes)
    assert "409" in schema["paths"]["/api/v1/tickets/{id}/transition/"]["post"]["responses"]


def test_main_calls_have_examples(schema):
    for path in ("/api/v1/reviews/", "/api/v1/tickets/{id}/transition/"):
        content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert content.get("examples"), path


def test_docs_page_has_no_inline_script_and_nothing_external(db, client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html
    assert not re.search(r"(src|href)=\"https?://", html)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    csp = response.get("Content-Security-Policy", "")
    assert "unsafe-inline" not in csp
