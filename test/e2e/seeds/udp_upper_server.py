# Seed 001: the UDP upper-case server, from /work/shared/seeds/001_d755f3e8fd74e7e9.txt,
# section "2.2、基于UDP协议" (already Python 3).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: udp_upper_server.py [HOST [PORT]]; defaults 127.0.0.1 8080, the seed's), and
# the bound port is printed to stderr as "PORT <n>" (stdout stays the seed's).
import sys
from socket import *

ip_port = (sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1',
           int(sys.argv[2]) if len(sys.argv) > 2 else 8080)
buffer_size = 1024

udp_server = socket(AF_INET, SOCK_DGRAM)  # 数据报套接字
udp_server.bind(ip_port)
print('PORT %d' % udp_server.getsockname()[1], file=sys.stderr, flush=True)

while True:
    data, addr = udp_server.recvfrom(buffer_size)
    print(data.decode('utf-8'))
    print('data from', addr)
    udp_server.sendto(data.upper(), addr)  # upper() 小写变大写
