# Seed 001: the interactive UDP upper-case client, from
# /work/shared/seeds/001_d755f3e8fd74e7e9.txt, section "2.2、基于UDP协议" (Python 3).
#
# Changed for the tests, and nothing else: host and port come from argv
# (usage: udp_upper_client.py [HOST [PORT]]; defaults 127.0.0.1 8080, the seed's), and
# the article's broken indentation (5 spaces on two lines: an IndentationError as
# printed) is made consistent. Like the seed it reads `input('>>:')` forever, so at the
# end of stdin it stops with EOFError; the tests expect that.
import sys
from socket import *

ip_port = (sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1',
           int(sys.argv[2]) if len(sys.argv) > 2 else 8080)  # 服务端IP+端口
buffer_size = 1024

udp_client = socket(AF_INET, SOCK_DGRAM)  # udp数据报套接字

while True:
    msg = input('>>:').strip()
    udp_client.sendto(msg.encode('utf-8'), ip_port)
    # 数据，ip地址+端口
    data, addr = udp_client.recvfrom(buffer_size)
    print(data.decode('utf-8'))
    print('data from %s', addr)
