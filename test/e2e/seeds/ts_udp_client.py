# Seed 002: tsUclnt.py, the UDP timestamp client (示例 2-7). The seed text
# (/work/shared/seeds/002_62ee2919410a8b35.txt, section "创建 UDP 客户端") gives its
# pseudocode (socket / sendto-recvfrom loop / close); this is the book's listing in the
# seed's style, in Python 3 (input() for raw_input(), bytes <-> str as in ts_tcp_client.py).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: ts_udp_client.py [HOST [PORT]]; defaults 'localhost' 21567, the book's), and
# the import is written out. Like the seed it has no timeout: the tests bound it. It reads
# `input('> ')` until an empty line (or EOFError at the end of stdin).
import sys
from socket import *

HOST = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 21567
BUFSIZ = 1024
ADDR = (HOST, PORT)

udpCliSock = socket(AF_INET, SOCK_DGRAM)

while True:
    data = input('> ')
    if not data:
        break
    udpCliSock.sendto(data.encode('utf-8'), ADDR)
    data, ADDR = udpCliSock.recvfrom(BUFSIZ)
    if not data:
        break
    print(data.decode('utf-8'))

udpCliSock.close()
