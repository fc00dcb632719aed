#!/usr/bin/env python3
# tests/faults/idle.py SOCKET N READYFILE: opens N connections to the
# agent and holds them idle (nothing sent) until killed.  After opening,
# waits 1 s and counts the ones the agent closed (refused by a limit),
# writes "open A refused B" to READYFILE, then sleeps.
import os
import select
import socket
import sys
import time

path, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conns, failed = [], 0
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        conns.append(s)
    except OSError:
        failed += 1
        s.close()
time.sleep(1)
refused = failed
p = select.poll()
for s in conns:
    p.register(s, select.POLLIN | select.POLLHUP)
closed = set()
for fd, ev in p.poll(0):
    closed.add(fd)
refused += len(closed)
with open(ready + '.tmp', 'w') as f:
    f.write('open %d refused %d\n' % (n - refused, refused))
os.rename(ready + '.tmp', ready)
while True:
    time.sleep(60)
