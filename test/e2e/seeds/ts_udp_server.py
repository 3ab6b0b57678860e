# Seed 002: tsUserv.py, the UDP timestamp server (示例 2-6). The seed text
# (/work/shared/seeds/002_62ee2919410a8b35.txt, section "创建UDP服务器") gives its
# pseudocode and names it "the UDP version of the TCP server above"; this is the book's
# listing in the seed's style, in Python 3 (print(), bytes <-> str as in ts_tcp_server.py).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: ts_udp_server.py [HOST [PORT]]; defaults '' 21567, the seed's), the bound port
# is printed to stderr as "PORT <n>" (stdout stays the seed's), and the imports are
# written out.
import sys
from socket import *
from time import ctime

HOST = sys.argv[1] if len(sys.argv) > 1 else ''
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 21567
BUFSIZ = 1024
ADDR = (HOST, PORT)

udpSerSock = socket(AF_INET, SOCK_DGRAM)
udpSerSock.bind(ADDR)
print('PORT %d' % udpSerSock.getsockname()[1], file=sys.stderr, flush=True)

while True:
    print('waiting for message...')
    data, addr = udpSerSock.recvfrom(BUFSIZ)
    udpSerSock.sendto(('[%s] %s' % (ctime(), data.decode('utf-8'))).encode('utf-8'), addr)
    print('...received from and returned to:', addr)

udpSerSock.close()
