# Seed 002: tsTclnt.py, the TCP timestamp client. The seed text
# (/work/shared/seeds/002_62ee2919410a8b35.txt, section "创建TCP客户端") prints only its
# heading, so this is the book's listing (示例 2-2) in the seed's style, from the
# client pseudocode there (socket / connect / send-recv loop / close), in Python 3
# (input() for raw_input(), bytes <-> str the way seed 003 does it).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: ts_tcp_client.py [HOST [PORT]]; defaults 'localhost' 21567, the book's), and
# the import is written out. It reads `input('> ')` until an empty line (or EOFError at
# the end of stdin), so the tests drive it through stdin and end it with an empty line.
import sys
from socket import *

HOST = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 21567
BUFSIZ = 1024
ADDR = (HOST, PORT)

tcpCliSock = socket(AF_INET, SOCK_STREAM)
tcpCliSock.connect(ADDR)

while True:
    data = input('> ')
    if not data:
        break
    tcpCliSock.send(data.encode('utf-8'))
    data = tcpCliSock.recv(BUFSIZ)
    if not data:
        break
    print(data.decode('utf-8'))

tcpCliSock.close()
