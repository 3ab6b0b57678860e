# Seed 000: the UDP "hello" client, from /work/shared/seeds/000_f70ca2748746c6ce.txt,
# section "UDP编程", ported from Python 2 to Python 3 (bytes messages, decoded replies).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: udp_hello_client.py [HOST [PORT]]; defaults 127.0.0.1 9999, the seed's),
# and the import is written out. Like the seed it has no timeout: the tests bound it.
import socket
import sys

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 9999

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for data in [b'Michael', b'Tracy', b'Sarah']:
    # 发送数据:
    s.sendto(data, (HOST, PORT))
    # 接收数据:
    print(s.recv(1024).decode('utf-8'))
s.close()
