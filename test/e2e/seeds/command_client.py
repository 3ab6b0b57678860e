# Seed 004: the interactive command client, from
# /work/shared/seeds/004_14116942218cbe71.txt, section "客户端代码", ported from Python 2
# to Python 3 (input() for raw_input(), print(), bytes <-> str the way seed 003 does it).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: command_client.py [HOST [PORT]]; defaults 127.0.0.1 21560, the seed's). Its
# logic is the seed's: `input('>')` lines are joined (with nothing between them) until
# EOFError (Ctrl+D, or the end of stdin), sent as one message, the reply printed; an
# empty message or Ctrl+C ends it. Driven through stdin, a run sends one message.
import sys
from socket import *
HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 21560
BUFSIZ = 1024
ADDR = (HOST, PORT)
tcpCstmSock = socket(AF_INET, SOCK_STREAM)
tcpCstmSock.connect_ex(ADDR)
while True:
    try:
        data = ''
        while True:
            try:
                tp = input('>')
                data = data + tp
            except EOFError:
                break
    except KeyboardInterrupt:
        break
    if not data:
        break
    tcpCstmSock.send(data.encode('utf-8'))
    data = tcpCstmSock.recv(BUFSIZ)
    if not data:
        break
    print(data.decode('utf-8'))
tcpCstmSock.close()
