"""Schemathesis hooks of the contract test (SCHEMATHESIS_HOOKS=hooks, run from this folder).

A tus PATCH carries raw bytes as `application/offset+octet-stream` (tus 1.0.0); schemathesis
knows no serializer for that media type, so the bytes it generates are sent as they are.
"""

import schemathesis


@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx, value):
    if isinstance(value, bytes):
        return {"data": value}
    return {"data": str(value).encode()}
