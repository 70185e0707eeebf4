"""What every plugin shares; imports no plugin: settings, redaction, logging, request metadata, the
deployment profile, call types, the SSE framer, protocol error shapes, ASGI helpers."""
