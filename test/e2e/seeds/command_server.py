# Seed 004: the command server (date / os / ls), from
# /work/shared/seeds/004_14116942218cbe71.txt, section "服务器代码", ported from Python 2
# to Python 3 (print(), bytes <-> str the way seed 003 does it for TCP) and with the
# article's mixed tab/space indentation made consistent (the last two lines of the outer
# loop: report the closed connection, close the client socket).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: command_server.py [HOST [PORT]]; defaults '' 21560, the seed's) and the bound
# port is printed to stderr as "PORT <n>" (stdout stays the seed's). Like the seed its
# replies have no line ending, `ls` lists the working directory's name ('[.]'), `ls
# <path>` any path at all, and an error (say, ls of a missing path) ends the connection.
import sys
from socket import *
import os
from time import ctime
HOST = sys.argv[1] if len(sys.argv) > 1 else ''
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 21560
BUFSIZ = 1024
ADDR = (HOST, PORT)
tcpSerSock = socket(AF_INET, SOCK_STREAM)
tcpSerSock.bind(ADDR)
tcpSerSock.listen(5)
print('PORT %d' % tcpSerSock.getsockname()[1], file=sys.stderr, flush=True)
while True:
    print('waiting for connection...')
    tcpCliSock, addr = tcpSerSock.accept()
    print('...Connected from:', addr)
    while True:
        try:
            data = tcpCliSock.recv(BUFSIZ).decode('utf-8')
            print(data, '', len(data))
            if not data:
                break
            if data == 'date':
                tcpCliSock.send(('[%s] %s' % (ctime(), data)).encode('utf-8'))
                continue
            if data == 'os':
                tcpCliSock.send(('[%s]' % os.name).encode('utf-8'))
                continue
            if data[0:2] == 'ls':
                if len(data) == 2:
                    tcpCliSock.send(('[%s]' % os.curdir).encode('utf-8'))
                else:
                    data_dir = data[3:len(data)]
                    tcpCliSock.send(('[%s]' % os.listdir(data_dir)).encode('utf-8'))
                continue
            tcpCliSock.send('welcome'.encode('utf-8'))
        except Exception:
            break
    print(addr, 'connection closed')
    tcpCliSock.close()
tcpSerSock.close()
