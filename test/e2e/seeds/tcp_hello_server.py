# Seed 003 (the same program is in seed 000, in Python 2): the TCP "hello" server,
# from /work/shared/seeds/003_2c95e54c9c4ac26c.txt, section "服务器".
#
# Changed for the tests, and nothing else:
#   * host, port and the per-message sleep come from argv
#     (usage: tcp_hello_server.py [HOST [PORT [SLEEP]]]; defaults 127.0.0.1 9999 1,
#     the seed's values), so a test can bind port 0 and keep the 1 s sleep short;
#   * the bound port is printed to stderr as "PORT <n>" (stdout stays the seed's);
#   * the imports the article leaves implicit are written out.
import socket
import sys
import threading
import time

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 9999
SLEEP = float(sys.argv[3]) if len(sys.argv) > 3 else 1


def tcplink(sock, addr):
    print('Accept new connection from %s:%s...' % addr)
    sock.send(b'Welcome!')
    while True:
        data = sock.recv(1024)
        time.sleep(SLEEP)
        if not data or data.decode('utf-8') == 'exit':
            break
        sock.send(('Hello, %s!' % data.decode('utf-8')).encode('utf-8'))
    sock.close()
    print('Connection from %s:%s closed.' % addr)


s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind((HOST, PORT))
s.listen(5)
print('PORT %d' % s.getsockname()[1], file=sys.stderr, flush=True)
print('Waiting for connection...')

while True:
    sock, addr = s.accept()
    t = threading.Thread(target=tcplink, args=(sock, addr))
    t.start()
