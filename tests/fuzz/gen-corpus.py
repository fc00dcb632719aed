#!/usr/bin/env python3
# tests/fuzz/gen-corpus.py: writes the seed inputs of the agent, attrs,
# duration, spki and policy targets under tests/fuzz/corpus/ (the audit seeds
# are real logs written by the agent's audit code; request and reply seeds
# were written by hand).  Run from the source tree: python3 gen-corpus.py
import os
import struct
import subprocess

top = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(top, 'corpus')


def put(name, sub, data):
    d = os.path.join(corpus, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def s(text):
    b = text.encode()
    return struct.pack('>H', len(b)) + b


def req(op, body=b''):
    return bytes([1, op, 0, 0]) + body


def sign(serial, alg, data, mech=0x1041, hash_=0, salt=0):
    return req(2, struct.pack('>QIBBIH', serial, mech, alg, hash_, salt,
                              len(data)) + data)


def start(tid, ktype, ttl, flags=0, uid=0xffffffff):
    return req(3, s(tid) + struct.pack('>BBII', ktype, flags, ttl, uid) +
               s('') + s('fuzz') + s('seed') + s(''))


def msg(caller, m):
    return bytes([caller]) + struct.pack('>H', len(m)) + m


# ---- agent: conversations (caller byte: 0 uid 1000, 1 uid 1001, 2 root)
lst = req(1, s('') + struct.pack('>Q', 0))
d32 = bytes(range(32))
conv = {
    'list': msg(0, lst),
    'list-other': msg(1, lst) + msg(2, lst),
    'sign-ecdsa': msg(0, sign(1, 1, d32)),
    'sign-eddsa': msg(1, sign(2, 4, b'hello', mech=0x1057)),
    'sign-foreign': msg(1, sign(1, 1, d32)) + msg(0, sign(2, 4, b'x', 0x1057)),
    'sign-badalg': msg(0, sign(1, 2, d32, mech=1)) +
                   msg(0, sign(1, 3, d32, mech=0xd, hash_=3, salt=32)),
    'start-sign-end': msg(0, start('t3', 1, 60)) + msg(0, sign(3, 1, d32)) +
                      msg(0, req(4, s('t3'))) + msg(0, sign(3, 1, d32)),
    'start-denied': msg(0, start('big', 5, 60)) +
                    msg(0, start('long', 1, 10 ** 8)) +
                    msg(0, start('other', 1, 60, uid=0)),
    'start-bind': msg(0, start('', 3, 60, flags=1)),
    'end-foreign': msg(1, req(4, s('t1'))) + msg(0, req(4, s('t1'))) +
                   msg(0, sign(1, 1, d32)),
    'status': msg(0, req(5)),
    'gov': msg(0, req(6, s('t1') + s('ok'))) + msg(0, req(9)) +
           msg(0, req(10, s('t1') + b'\x01')) + msg(0, req(12, s('t1'))),
    'garbage': msg(0, b'\x02\x01\x00\x00') + msg(0, b'\x01') +
               msg(0, req(1, b'\x00')) + msg(0, lst),
}
for name, data in conv.items():
    put(name, 'agent', data)
reqdir = os.path.join(corpus, 'request')
for name in sorted(os.listdir(reqdir)):
    with open(os.path.join(reqdir, name), 'rb') as f:
        put('req-' + name, 'agent', msg(0, f.read()))

# ---- attrs: which, kind, n, n x (u16 selector, u8 size), [task]
def attrs(which, kind, sels, tail=b''):
    out = bytes([which, kind, len(sels)])
    for sel, size in sels:
        out += struct.pack('>HB', sel, size)
    return out + tail


every = [(i, 0xff) for i in range(16)]
put('ec-pub-sizes', 'attrs', attrs(0, 1, every))
put('rsa-pub-values', 'attrs', attrs(1, 1, [(i, 200) for i in range(16)]))
put('ed-priv-secret', 'attrs', attrs(2, 0, [(21, 64), (22, 64), (20, 1),
                                            (18, 1), (14, 100)]))
put('ec-priv-small', 'attrs', attrs(0, 0, [(2, 3), (3, 4), (14, 10)]))
put('unknown-type', 'attrs', attrs(0, 1, [(0x8001, 8), (0xffff, 0xff)]))
spki = subprocess.run(
    ['sh', '-c', 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 '
     '2>/dev/null | openssl pkey -pubout -outform DER'],
    capture_output=True, check=True).stdout
task = (s('listed') + bytes([2, 1, 0, 0]) + struct.pack('>Q', 9) +
        bytes(16) + struct.pack('>IIII', 1000, 0xffffffff, 0, 0xffffffff) +
        s('default') + s('') + s('') + s('') +
        struct.pack('>QQQ', 1700000000, 1700003600, 0) +
        struct.pack('>H', len(spki)) + spki)
put('decoded-ec', 'attrs', attrs(3, 1, [(14, 100), (13, 20), (7, 200)], task))
put('decoded-as-rsa', 'attrs',
    attrs(3, 1, [(15, 255 - 1), (16, 8)], task.replace(bytes([2, 1, 0, 0]),
                                                       bytes([2, 4, 0, 0]), 1)))

# ---- duration
for i, d in enumerate(['90', '90s', '15m', '2h', '1d', '1h30m', '1d2h3m4s',
                       '30d', '31d', '0', '0s', '1h1h', '1m1h', ' 5', '5 ',
                       '-5', '4294967296', '99999999999999999999', '1.5h',
                       'h', '']):
    put('d%02d' % i, 'duration', d.encode())

# ---- policy: the shipped example plus small files
with open(os.path.join(top, '..', '..', 'conf', 'policy.example'), 'rb') as f:
    put('example', 'policy', f.read())
small = {
    'minimal': 'version: 1\n',
    'issue-only': 'version: 1\nissue:\n  - name: a\n    scopes: [default]\n'
                  '    key_types: [ec-p256]\n    max_ttl: 90\n',
    'use-window': 'version: 1\nuse:\n  - name: w\n    effect: deny\n'
                  '    window: {days: [mon], from: "22:00", to: "02:00", tz: local}\n'
                  '  - name: own\n    callers: {requester: true, uids: [0, root]}\n'
                  '    max_signatures: 3\n',
    'groups': 'version: 1\ngroups:\n  g: [0, 1, root]\nissue:\n  - name: x\n'
              '    requesters: {groups: [g, root]}\n    approval: {group: g}\n',
    'alias': 'version: 1\ngroups:\n  g: &a [0]\n  h: *a\n',
    'bad-version': 'version: 2\n',
    'bad-indent': 'version: 1\nissue:\n - name: a\n  scopes: [x\n',
}
for name, text in small.items():
    put(name, 'policy', text.encode())

# ---- spki: one SPKI per key type wid makes, plus a compressed point
for name, gen in {
    'ec-p256': 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256',
    'ec-p384': 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384',
    'ed25519': 'openssl genpkey -algorithm ED25519',
    'rsa2048': 'openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048',
}.items():
    put(name, 'spki', subprocess.run(
        ['sh', '-c', gen + ' 2>/dev/null | openssl pkey -pubout -outform DER'],
        check=True, capture_output=True).stdout)
put('ec-compressed', 'spki', subprocess.run(
    ['sh', '-c', 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 '
     '2>/dev/null | openssl pkey -pubout -outform DER -ec_conv_form compressed'],
    check=True, capture_output=True).stdout)
