"""A DNS server on 127.0.0.1, UDP and TCP on one port, answering TXT queries
from zone-file lines (the records `snmctl dkim dns` prints), for the DKIM
verifiers: python3-dkim through dnspython and Mail::DKIM through Net::DNS.
Everything else: NXDOMAIN for an unknown name, an empty answer otherwise.

An answer larger than the UDP limit (512 bytes, or the EDNS(0) size the
query advertises) goes out truncated (TC) over UDP, as a real server sends
it, so the resolver retries over TCP: a 4096-bit RSA key's TXT record does
not fit 512 bytes.

    with DnsStub(records_from_zone(zone_text)) as dns:
        dns.port
"""
import re
import socketserver
import struct
import threading

TXT, ANY, CLASS_IN, OPT = 16, 255, 1, 41
# Largest UDP answer without EDNS(0) (RFC 1035 4.2.1).
PLAIN_UDP_LIMIT = 512
TTL = 300
# Ports tried for a UDP port whose TCP twin is free too.
BIND_ATTEMPTS = 10


def records_from_zone(text):
    """{"name.": [[string, …] per TXT record]} from zone-file lines
    `name [TTL] IN TXT "a" "b"` (lower-case names, fully qualified)."""
    records = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        match = re.match(r'^(\S+)\s+(?:\d+\s+)?IN\s+TXT\s+(.*)$', line)
        if not match:
            continue
        name = match.group(1).lower()
        if not name.endswith("."):
            name += "."
        strings = [re.sub(r'\\(.)', r'\1', s) for s in re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(2))]
        records.setdefault(name, []).append(strings)
    return records


def _read_name(packet, offset):
    """(dotted lower-case name with the final dot, offset after it); no compression (queries have none)."""
    labels = []
    while packet[offset]:
        length = packet[offset]
        labels.append(packet[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    return ".".join(labels).lower() + ".", offset + 1


def _udp_limit(query, offset, arcount):
    """The UDP payload size the query's EDNS(0) OPT record advertises (at least 512), else 512."""
    for _ in range(arcount):
        if offset >= len(query):
            break
        _, offset = _read_name(query, offset)
        rtype, rclass, _ttl, rdlength = struct.unpack("!HHIH", query[offset:offset + 10])
        if rtype == OPT:
            return max(rclass, PLAIN_UDP_LIMIT)
        offset += 10 + rdlength
    return PLAIN_UDP_LIMIT


class DnsStub:
    """Authoritative answers for `records` ({"name.": [[strings] per record]})."""

    def __init__(self, records):
        self.records = {name.lower() if name.endswith(".") else name.lower() + ".": list(rrs)
                        for name, rrs in records.items()}
        self.queries = []  # (name, "udp" or "tcp"), in arrival order
        stub = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = stub.answer(data, udp=True)
                if reply:
                    sock.sendto(reply, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                while True:  # a client may send several queries on one connection
                    header = self._exactly(2)
                    if header is None:
                        return
                    query = self._exactly(struct.unpack("!H", header)[0])
                    if query is None:
                        return
                    reply = stub.answer(query, udp=False)
                    if not reply:
                        return
                    self.request.sendall(struct.pack("!H", len(reply)) + reply)

            def _exactly(self, n):
                data = b""
                while len(data) < n:
                    chunk = self.request.recv(n - len(data))
                    if not chunk:
                        return None
                    data += chunk
                return data

        class UdpServer(socketserver.ThreadingUDPServer):
            daemon_threads = True

        class TcpServer(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        for attempt in range(BIND_ATTEMPTS):  # the UDP port may be taken for TCP
            self.udp = UdpServer(("127.0.0.1", 0), Udp)
            self.port = self.udp.server_address[1]
            try:
                self.tcp = TcpServer(("127.0.0.1", self.port), Tcp)
                break
            except OSError:
                self.udp.server_close()
                if attempt == BIND_ATTEMPTS - 1:
                    raise
        for server in (self.udp, self.tcp):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for server in (self.udp, self.tcp):
            server.shutdown()
            server.server_close()

    def answer(self, query, udp):
        """The reply to one query packet (b"" for one too short to answer)."""
        try:
            ident, flags, qdcount, _an, _ns, arcount = struct.unpack("!6H", query[:12])
            name, offset = _read_name(query, 12)
            qtype, qclass = struct.unpack("!HH", query[offset:offset + 4])
        except (IndexError, struct.error):
            return b""
        question = query[12:offset + 4]
        self.queries.append((name, "udp" if udp else "tcp"))
        rrsets = self.records.get(name, []) if qtype in (TXT, ANY) and qclass == CLASS_IN else []
        answers = b""
        for strings in rrsets:
            rdata = b"".join(bytes([len(s.encode())]) + s.encode() for s in strings)
            answers += b"\xc0\x0c" + struct.pack("!HHIH", TXT, CLASS_IN, TTL, len(rdata)) + rdata
        rcode = 0 if name in self.records else 3  # NXDOMAIN
        reply_flags = 0x8400 | (flags & 0x0100) | rcode  # response, authoritative, RD copied
        reply = struct.pack("!6H", ident, reply_flags, 1, len(rrsets), 0, 0) + question + answers
        if udp and len(reply) > _udp_limit(query, offset + 4, arcount):
            # Truncated (TC), no answers: the resolver asks again over TCP.
            reply = struct.pack("!6H", ident, reply_flags | 0x0200, 1, 0, 0, 0) + question
        return reply
