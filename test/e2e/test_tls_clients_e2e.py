#!/usr/bin/env python3
"""netdemo's clients over TLS (`tcp-client`, `command-client` and `bench tcp|stream` with
`--tls`, `--cacert`, `-k`) against a TLS server of Python's own ssl module: the
certificate checked by default, one-line errors with exit codes, close_notify or not.

The certificates are made at test time with the openssl command (a CA and a server
certificate it signed, for localhost and 127.0.0.1).

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_tls_clients_e2e.py
"""

import os
import socket
import ssl
import sys

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase, run
from tls_support import TlsCase, recv_until  # noqa: E402


class PyTlsServer:
    """A threaded TLS server of Python's ssl module: `hello` greets 'Welcome!' and answers
    each read with 'Hello, X!\\n' (seed 003), `echo` sends back what came. Ends each
    session with close_notify unless `clean` is False."""

    def __init__(self, case, certs, role="hello", clean=True, host="127.0.0.1"):
        import threading
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certs.cert, certs.key)
        self.role, self.clean = role, clean
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.host = host
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)
        self.thread.start()
        case.addCleanup(self.stop)

    def stop(self):
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()

    def accept_loop(self):
        import threading
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, raw):
        raw.settimeout(h.QUICK)
        try:
            c = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        try:
            if self.role == "hello":
                c.sendall(b"Welcome!")
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d if self.role == "echo" else b"Hello, " + d.strip() + b"!\n")
            if self.clean:
                c.unwrap()
        except (ssl.SSLError, OSError):
            pass
        finally:
            c.close()

    def args(self):
        return ["--host", self.host, "--port", str(self.port)]


class Clients(TlsCase):
    def test_tcp_client_verifies_with_cacert(self):
        s = PyTlsServer(self, self.certs)
        r = run(["tcp-client", *s.args(), "--tls", "--cacert", self.certs.ca, "--timeout", "2s"],
                input=b"Michael\n", timeout=15)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"Hello, Michael!", r.stdout)

    def test_tcp_client_refuses_an_unknown_ca(self):
        s = PyTlsServer(self, self.certs)
        r = run(["tcp-client", *s.args(), "--tls", "--timeout", "2s"], input=b"x\n", timeout=15)
        self.assertEqual(r.returncode, 60, r.stderr)
        self.assertEqual(len(r.stderr.decode().strip().splitlines()), 1, r.stderr)
        self.assertIn(b"certificate", r.stderr)

    def test_tcp_client_insecure(self):
        s = PyTlsServer(self, self.certs)
        r = run(["tcp-client", *s.args(), "--tls", "-k", "--timeout", "2s"],
                input=b"Michael\n", timeout=15)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"Hello, Michael!", r.stdout)

    def test_command_client_over_tls(self):
        s = PyTlsServer(self, self.certs)
        r = run(["command-client", *s.args(), "--tls", "--cacert", self.certs.ca, "--timeout", "2s"],
                input=b"os\n", timeout=15)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.strip(), r.stdout)

    def test_bench_tcp_tls(self):
        s = PyTlsServer(self, self.certs, "echo")
        r = run(["bench", "tcp", *s.args(), "--tls", "--cacert", self.certs.ca,
                 "-c", "4", "-d", "1s", "-w", "0", "--json"], timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        import json
        obj = json.loads(r.stdout.decode().strip().splitlines()[0])
        self.assertGreater(obj["messages"], 0)

    def test_host_name_is_checked(self):
        s = PyTlsServer(self, self.certs)
        r = run(["tcp-client", "--host", "localhost", "--port", str(s.port), "--tls", "--cacert",
                 self.certs.ca, "--timeout", "2s", "Michael"], timeout=15)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The certificate names localhost and 127.0.0.1, not 127.0.0.2 (loopback too).
        other = PyTlsServer(self, self.certs, host="127.0.0.2")
        r = run(["tcp-client", *other.args(), "--tls", "--cacert", self.certs.ca, "--timeout", "2s",
                 "Michael"], timeout=15)
        self.assertEqual(r.returncode, 60, r.stderr)
        self.assertIn(b"127.0.0.2", r.stderr)

    def test_close_without_close_notify_is_a_warning(self):
        s = PyTlsServer(self, self.certs, clean=False)
        r = run(["tcp-client", *s.args(), "--tls", "--cacert", self.certs.ca, "--timeout", "2s", "Michael"],
                timeout=15)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"Hello, Michael!", r.stdout)
        self.assertIn(b"without TLS close_notify", r.stderr)

    def test_clean_close_has_no_warning(self):
        s = PyTlsServer(self, self.certs)
        r = run(["tcp-client", *s.args(), "--tls", "--cacert", self.certs.ca, "--timeout", "2s", "Michael"],
                timeout=15)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(r.stdout, b"Welcome!\nHello, Michael!\n")

    def test_usage_errors(self):
        for args in (["--cacert", "x.pem"], ["-k"], ["--tls", "--unix", "/tmp/x.sock"]):
            r = run(["tcp-client", "--port", "1", *args, "hi"])
            self.assertEqual(r.returncode, 2, (args, r.stderr))
        r = run(["bench", "udp", "--port", "1", "--tls"])
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_missing_ca_file(self):
        s = PyTlsServer(self, self.certs)
        r = run(["tcp-client", *s.args(), "--tls", "--cacert", "/nonexistent/ca.pem", "hi"], timeout=15)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"/nonexistent/ca.pem", r.stderr)
        self.assertEqual(len(r.stderr.decode().strip().splitlines()), 1, r.stderr)

    def test_bench_stream_tls_verify_failure(self):
        s = PyTlsServer(self, self.certs, "echo")
        r = run(["bench", "stream", *s.args(), "--tls", "-c", "1", "-d", "1s", "-w", "0", "-q"], timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"certificate verify failed", r.stderr)


if __name__ == "__main__":
    h.main()
