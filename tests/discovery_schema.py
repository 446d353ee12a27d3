"""The discovery-schema checker: a JSON response against the schema Google's discovery document declares for
it (google-api-python-client ships the documents: gmail.v1, calendar.v3). Shared by the Gmail and Calendar
emulator tests."""
import json
import os
import re

import googleapiclient

BASE64URL = re.compile(r"\A[A-Za-z0-9_-]*={0,2}\Z")


def document(name: str) -> dict:
    """A discovery document google-api-python-client ships ("gmail.v1", "calendar.v3")."""
    path = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents", f"{name}.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def conform(value, schema: dict, schemas: dict, where: str = "$") -> None:
    """Assert `value` is what `schema` declares, recursively; unknown fields are failures."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r:.80}"
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                conform(item, properties[key], schemas, f"{where}.{key}")
            else:
                assert "additionalProperties" in schema, f"{where}.{key}: not in Google's schema"
                conform(item, schema["additionalProperties"], schemas, f"{where}.{key}")
    elif kind == "array":
        assert isinstance(value, list), f"{where}: expected an array"
        for index, item in enumerate(value):
            conform(item, schema["items"], schemas, f"{where}[{index}]")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: expected a string, got {value!r:.80}"
        if schema.get("format") in ("int64", "uint64"):
            assert value.isdigit(), f"{where}: a 64-bit integer travels as a decimal string"
        if schema.get("format") == "byte":
            assert BASE64URL.match(value), f"{where}: not base64url"
        if "enum" in schema:
            assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: expected an integer"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: expected a boolean"
    else:
        raise AssertionError(f"{where}: schema type {kind!r} not handled")
