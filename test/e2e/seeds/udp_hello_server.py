# Seed 000: the UDP "hello" server, from /work/shared/seeds/000_f70ca2748746c6ce.txt,
# section "UDP编程", ported from Python 2 to Python 3 (print(), bytes <-> str the way
# seed 003 does it for TCP).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: udp_hello_server.py [HOST [PORT]]; defaults 127.0.0.1 9999, the seed's; the
# "Bind UDP on" line shows that port), the bound port is printed to stderr as
# "PORT <n>" (stdout stays the seed's), and the import is written out.
import socket
import sys

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 9999

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# 绑定端口:
s.bind((HOST, PORT))
print('PORT %d' % s.getsockname()[1], file=sys.stderr, flush=True)

print('Bind UDP on %d...' % PORT)
while True:
    # 接收数据:
    data, addr = s.recvfrom(1024)
    print('Received from %s:%s.' % addr)
    s.sendto(('Hello, %s!' % data.decode('utf-8')).encode('utf-8'), addr)
