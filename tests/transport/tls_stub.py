"""A tiny salt-api stand-in over real TLS, signed by a private CA made for the test.

It answers ``POST /login`` with a token and ``POST /`` with a ``cmd.run_all`` return, and keeps
every request body it received, so tests can check what the salt transport sent (``runas``)
and that it verified the server certificate against the CA bundle it was given.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from st2_local.st2_http import send_json

MINION = "stub-minion"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_pem(path: str, data: bytes) -> str:
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def make_ca_and_server_cert(directory: str) -> Tuple[str, str, str]:
    """(CA bundle path, server cert path, server key path) for 127.0.0.1."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("avamar-pack test CA"))
        .issuer_name(_name("avamar-pack test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path = _write_pem(os.path.join(directory, "ca.pem"), ca_cert.public_bytes(pem))
    cert_path = _write_pem(os.path.join(directory, "server.pem"), cert.public_bytes(pem))
    key_path = _write_pem(
        os.path.join(directory, "server.key"),
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    return ca_path, cert_path, key_path


@dataclass
class TlsSaltStub:
    url: str
    ca_bundle: str
    password: str
    token: str
    received: List[Dict[str, Any]] = field(default_factory=list)
    server: Any = None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_tls_salt_stub(directory: str, password: str, token: str) -> TlsSaltStub:
    ca, cert, key = make_ca_and_server_cert(directory)
    stub = TlsSaltStub(url="", ca_bundle=ca, password=password, token=token)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

        def _answer(self, status: int, body: Any) -> None:
            send_json(self, status, body)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            stub.received.append({"path": self.path, "body": body, "token": self.headers.get("X-Auth-Token")})
            if self.path == "/login":
                if body.get("password") != stub.password:
                    self._answer(401, {"return": "Please log in"})
                    return
                self._answer(200, {"return": [{"token": stub.token, "user": body.get("username")}]})
                return
            if self.headers.get("X-Auth-Token") != stub.token:
                self._answer(401, {"return": "Please log in"})
                return
            user = body[0].get("kwarg", {}).get("runas") or "root"
            self._answer(
                200, {"return": [{MINION: {"retcode": 0, "stdout": f"ran as {user}\n", "stderr": "", "pid": 1}}]}
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True, name="tls-salt-stub").start()
    stub.server = server
    stub.url = f"https://127.0.0.1:{server.server_address[1]}"
    return stub
