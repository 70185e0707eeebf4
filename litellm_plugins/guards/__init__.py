"""The guards: request bodies checked, errors in the client's protocol, upstream failures and streams kept
sane."""
