# Seed 003 (the same program is in seed 000, in Python 2): the TCP "hello" client,
# from /work/shared/seeds/003_2c95e54c9c4ac26c.txt, section "服务器" (end).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: tcp_hello_client.py [HOST [PORT]]; defaults 127.0.0.1 9999, the seed's),
# and the import is written out.
import socket
import sys

HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 9999

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

s.connect((HOST, PORT))

print(s.recv(1024).decode('utf-8'))
for data in [b'Michael', b'Tracy', b'Sarah']:

    s.send(data)
    print(s.recv(1024).decode('utf-8'))
s.send(b'exit')
s.close()
