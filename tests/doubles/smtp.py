"""A real SMTP server (aiosmtpd) on a loopback port, optionally requiring STARTTLS and AUTH,
with a self-signed certificate made for the test (cryptography); or misbehaving as some
servers do: quoting the credentials it was sent in its refusal, or keeping a message and
closing the connection before its reply."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "alerts-bot"
PASSWORD = "double-smtp-password-55d1"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Collect:
    def __init__(self, server: SmtpDouble):
        self.server = server

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.server.received.append((list(envelope.rcpt_tos), message))
        if self.server.drop_after_data:
            server.transport.abort()  # the message is kept; the reply below is never sent
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope) -> str:
        return self.server.quit_reply


class _QuoteCredentials(_Collect):
    """Refuses every login, quoting what the client sent: the AUTH line's base64 (with the
    password answered to LOGIN's challenge) and its decoding."""

    async def handle_AUTH(self, server, session, envelope, args) -> str:
        mechanism, *sent = args
        if mechanism == "LOGIN":  # the user comes with AUTH, the password when challenged
            password = await server.challenge_auth("Password:")
            sent.append(base64.b64encode(password).decode())
        decoded = " ".join(base64.b64decode(s).decode().replace("\0", " ") for s in sent)
        return f"535 5.7.8 refused AUTH {mechanism} {' '.join(sent)} for: {decoded}"


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # False: the server answers 535 itself


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpDouble:
    """`received` holds (envelope recipients, parsed message) per accepted email."""

    def __init__(self, tls_dir: Path | None = None, quote_credentials: str = ""):
        """`quote_credentials`: the one AUTH mechanism offered (PLAIN or LOGIN), whose logins
        are refused with the credentials quoted (no TLS)."""
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.quit_reply = "221 Bye"  # e.g. "421 ..." from a server closing after the message
        self.drop_after_data = False  # keep each message, close before the reply
        self.client_context: ssl.SSLContext | None = None
        handler = _Collect(self)
        kwargs: dict = {}
        if quote_credentials:
            handler = _QuoteCredentials(self)
            other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[quote_credentials]
            kwargs = {"auth_require_tls": False, "auth_exclude_mechanism": [other]}
        if tls_dir is not None:
            cert, key = self_signed(tls_dir)
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_context.load_cert_chain(cert, key)
            self.client_context = ssl.create_default_context(cafile=str(cert))
            kwargs = {
                "tls_context": server_context,
                "require_starttls": True,
                "authenticator": _authenticator,
                "auth_require_tls": True,
                "auth_required": True,
            }
        self.controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), **kwargs)

    def __enter__(self) -> SmtpDouble:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port
