"""What the TLS end-to-end tests share: certificates made at test time with the openssl
command (a private CA and a server certificate it signed, for localhost, 127.0.0.1 and ::1),
a test case that makes them once per class, and TLS connections to a server under test."""

import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

import netdemo_harness as h
from netdemo_harness import NetdemoTestCase


def openssl(*args: str) -> None:
    r = subprocess.run(["openssl", *args], capture_output=True, timeout=h.QUICK * 2)
    if r.returncode != 0:
        raise unittest.SkipTest("openssl %s failed: %r" % (args[0], r.stderr))


class Certificates:
    """A private CA and a server certificate for localhost / 127.0.0.1 / ::1."""

    def __init__(self, d: str):
        self.dir = d
        self.ca_key, self.ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
        self.key, self.cert = os.path.join(d, "server.key"), os.path.join(d, "server.pem")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *ec, "-days", "1", "-subj", "/CN=netdemo test CA",
                "-keyout", self.ca_key, "-out", self.ca)
        csr = os.path.join(d, "server.csr")
        openssl("req", *ec, "-subj", "/CN=localhost", "-keyout", self.key, "-out", csr)
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", self.cert)


class TlsCase(NetdemoTestCase):
    certs = None

    @classmethod
    def setUpClass(cls):
        cls._dir = tempfile.mkdtemp(prefix="nde2e-tls-", dir="/tmp")
        cls.certs = Certificates(cls._dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls._dir, True)

    def tls_server(self, *args: str, **kw):
        return self.tcp_server("--tls-cert", self.certs.cert, "--tls-key", self.certs.key, *args, **kw)

    def tls_connect(self, server, host: str = "127.0.0.1", timeout: float = h.QUICK) -> ssl.SSLSocket:
        ctx = ssl.create_default_context(cafile=self.certs.ca)
        raw = self.connect(server, host=host, timeout=timeout)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(s.close)
        return s


def recv_until(sock, done, timeout: float = h.QUICK) -> bytes:
    """Reads from a TLS socket until done(data) or EOF."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while not done(data) and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return data
