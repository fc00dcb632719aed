#!/usr/bin/env python3
# tests/faults/flood.py SOCKET SEEDDIR COUNT SEED: sends COUNT random and
# mutated requests to the agent, each in a correctly sized frame (frame
# length attacks are tests/integration/badinput.sh's), reading every
# reply.  The agent may answer with an error and close; then we reconnect.
# After an error reply we reconnect (the agent closes after a
# malformed request).  A request that gets neither a reply nor a close within 5 s is a stall.
# Prints: "sent N replied R ok K errors E closed C stalls S".
# Exit 0 when every request was answered or closed (no stall, no refused
# connection).
import os
import random
import socket
import struct
import sys

path, seeddir, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
seeds = []
for name in sorted(os.listdir(seeddir)):
    with open(os.path.join(seeddir, name), 'rb') as f:
        seeds.append(f.read())


def mutate(b):
    b = bytearray(b)
    for _ in range(rnd.randint(1, 6)):
        op = rnd.randrange(7)
        if op == 0 and b:                       # flip a bit
            i = rnd.randrange(len(b))
            b[i] ^= 1 << rnd.randrange(8)
        elif op == 1 and b:                     # random byte
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        elif op == 2 and b:                     # truncate
            del b[rnd.randrange(len(b)):]
        elif op == 3:                           # append garbage
            b += os.urandom(rnd.randint(1, 64))
        elif op == 4 and len(b) > 2:            # interesting u16 somewhere
            i = rnd.randrange(len(b) - 1)
            b[i:i + 2] = struct.pack('>H', rnd.choice([0, 1, 0x7fff, 0xffff, len(b)]))
        elif op == 5 and len(b) > 4:            # duplicate a slice
            i = rnd.randrange(len(b))
            b[i:i] = b[i:i + rnd.randint(1, 32)]
        elif op == 6 and len(b) > 1:            # any op byte
            b[1] = rnd.randrange(256)
    return bytes(b)


def request():
    r = rnd.random()
    if r < 0.15:
        return os.urandom(rnd.randint(0, 300))
    if r < 0.20:
        return rnd.choice(seeds)                # a valid one now and then
    return mutate(rnd.choice(seeds))


def recv_reply(s):
    hdr = b''
    while len(hdr) < 4:
        c = s.recv(4 - len(hdr))
        if not c:
            return None
        hdr += c
    n = struct.unpack('>I', hdr)[0]
    body = b''
    while len(body) < n:
        c = s.recv(min(65536, n - len(body)))
        if not c:
            return None
        body += c
    return body


stats = dict(sent=0, replied=0, ok=0, errors=0, closed=0, stalls=0)
s = None
for i in range(count):
    if s is None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(path)
    m = request()
    try:
        s.sendall(struct.pack('>I', len(m)) + m)
        stats['sent'] += 1
        rep = recv_reply(s)
    except socket.timeout:
        stats['stalls'] += 1
        rep = None
    except (BrokenPipeError, ConnectionResetError):
        rep = None
    if rep is None:
        stats['closed'] += 1
        s.close()
        s = None
        continue
    stats['replied'] += 1
    if len(rep) >= 4 and rep[2:4] == b'\0\0':
        stats['ok'] += 1
    else:
        # The agent closes after a malformed request: start afresh so
        # that the next request is read.
        stats['errors'] += 1
        s.close()
        s = None
print(' '.join('%s %d' % (k, v) for k, v in stats.items()))
sys.exit(0 if stats['stalls'] == 0 else 1)
