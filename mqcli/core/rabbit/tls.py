"""The one SSL context built from a profile's `rabbit.tls` settings, for the AMQP
connections (core/rabbit/client.py) and the management API (core/rabbit/management.py)."""

from __future__ import annotations

import ssl

from mqcli.core.config import TlsSettings
from mqcli.core.errors import ConnectionFailed


def ssl_context(tls: TlsSettings, *, what: str) -> ssl.SSLContext:
    """Verifying the server against `tls.ca` (default: the system CAs), with the client
    certificate when one is set; ConnectionFailed naming `what` when a file cannot be read."""
    try:
        context = ssl.create_default_context(cafile=tls.ca)
        if tls.cert:
            context.load_cert_chain(tls.cert, tls.key, password=tls.key_password)
    except (OSError, ssl.SSLError) as e:
        raise ConnectionFailed(f"cannot load TLS files for {what}: {e}") from None
    if not tls.verify:
        # Only when the profile says verify: false explicitly.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
