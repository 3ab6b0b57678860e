# Seed 002: tsTserv.py, the TCP timestamp server (示例 2-1), from
# /work/shared/seeds/002_62ee2919410a8b35.txt, section "创建 TCP 服务器", ported from
# Python 2 to Python 3 (print(), bytes <-> str the way seed 003 does it for TCP).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: ts_tcp_server.py [HOST [PORT]]; defaults '' 21567, the seed's), the bound port
# is printed to stderr as "PORT <n>" (stdout stays the seed's), and the imports the
# listing leaves implicit are written out. Like the seed it serves one client at a time.
import sys
from socket import *
from time import ctime

HOST = sys.argv[1] if len(sys.argv) > 1 else ''
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 21567
BUFSIZ = 1024
ADDR = (HOST, PORT)

tcpSocket = socket(AF_INET, SOCK_STREAM)
tcpSocket.bind(ADDR)
tcpSocket.listen(5)
print('PORT %d' % tcpSocket.getsockname()[1], file=sys.stderr, flush=True)

ON = True

while ON:
    print('waiting for connection...')
    tcpClientSocket, addr = tcpSocket.accept()
    print('... connect from:', addr)

    while True:
        data = tcpClientSocket.recv(BUFSIZ)
        if not data:
            break
        tcpClientSocket.send(('[%s] %s' % (ctime(), data.decode('utf-8'))).encode('utf-8'))

    tcpClientSocket.close()
tcpSocket.close()
