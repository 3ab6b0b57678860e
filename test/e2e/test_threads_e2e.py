"""--threads N: one event loop and socket per thread on a shared port (SO_REUSEPORT)."""
import os
import signal
import socket
import subprocess
import unittest

import netdemo_harness as h
from netdemo_harness import NetdemoTestCase, run


def thread_count(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line")


_runtime_threads = None


def runtime_threads() -> int:
    """Threads the sanitizer runtime adds to a process that starts threads of its own:
    ThreadSanitizer starts one background thread at the first pthread_create; the other
    runtimes (or none) add nothing. Asked of the binary itself: a TSan runtime answers
    TSAN_OPTIONS=help=1 with its flag list."""
    global _runtime_threads
    if _runtime_threads is None:
        env = dict(os.environ, TSAN_OPTIONS="help=1:log_path=stderr")
        r = subprocess.run([h.netdemo(), "--version"], env=env, capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=h.QUICK)
        _runtime_threads = 1 if b"ThreadSanitizer" in r.stderr else 0
    return _runtime_threads


def listening_sockets(port: int, udp: bool = False) -> int:
    out = subprocess.run(["ss", "-Hln" + ("u" if udp else "t"), "sport = :%d" % port],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    return len([line for line in out.splitlines() if line.strip()])


class TcpThreads(NetdemoTestCase):

    def test_two_threads_share_the_port_and_every_connection_is_served(self):
        s = self.tcp_server("--threads", "2", "--role", "echo")
        self.assertEqual(s.lines()[0].count("2 threads"), 1, s.lines()[0])
        self.assertEqual(thread_count(s.pid), 2 + runtime_threads())
        self.assertEqual(listening_sockets(s.port), 2)
        socks = [self.connect(s) for _ in range(40)]
        for i, c in enumerate(socks):
            c.sendall(b"message %d\n" % i)
        for i, c in enumerate(socks):
            want = b"message %d\n" % i
            self.assertEqual(h.recv_exactly(c, want), want)
        for c in socks:
            c.close()
        self.assertTrue(h.wait_until(lambda: len([l for l in s.lines() if " closed (eof" in l]) == 40))
        self.assertEqual(s.stop(signal.SIGINT), 130)
        self.assertEqual(len([l for l in s.lines() if "Stopping" in l]), 1, s.text())

    def test_max_conns_holds_across_threads(self):
        s = self.tcp_server("--threads", "2", "--max-conns", "3")
        held = []
        refused = 0
        for _ in range(10):
            c = self.connect(s)
            data = h.recv_until_eof(c, 0.3) if len(held) == 3 else h.recv_exactly(c, b"Welcome!")
            if data == b"Welcome!":
                held.append(c)
            else:
                self.assertEqual(data, b"ERR too many connections (max 3)\n")
                refused += 1
        self.assertEqual((len(held), refused), (3, 7))
        for i, c in enumerate(held):
            c.sendall(b"n%d\n" % i)
            want = b"Hello, n%d!\n" % i
            self.assertEqual(h.recv_exactly(c, want), want)

    def test_graceful_stop_answers_in_flight_work_in_every_thread(self):
        s = self.tcp_server("--threads", "3", "--pause", "2s")
        socks = [self.connect(s) for _ in range(12)]
        for c in socks:
            self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
            c.sendall(b"bare")  # waits for its 2 s pause
        s.signal(signal.SIGTERM)
        for c in socks:
            self.assertEqual(h.recv_until_eof(c), b"Hello, bare!")
        self.assertEqual(s.wait(), 0)

    def test_unix_socket_with_threads_is_a_usage_error(self):
        r = run(["tcp-server", "--unix", os.path.join(self.tempdir(), "s.sock"), "--threads", "2"])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--threads applies to TCP and UDP only", r.stderr)

    def test_thread_count_out_of_range(self):
        for bad in ("0", "-1", "257"):
            r = run(["tcp-server", "--port", "0", "--threads", bad])
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn(b"--threads must be between 1 and 256", r.stderr)


class UdpThreads(NetdemoTestCase):

    def test_senders_spread_over_threads_all_get_answers(self):
        s = self.udp_server("--threads", "2", "--role", "upper")
        self.assertEqual(listening_sockets(s.port, udp=True), 2)
        for i in range(20):
            u = self.udp()
            u.sendto(b"hi %d" % i, ("127.0.0.1", s.port))
            self.assertEqual(u.recv(100), b"HI %d" % i)
        self.assertEqual(s.stop(signal.SIGTERM), 0)


if __name__ == "__main__":
    unittest.main()
