"""A DNS server on 127.0.0.1 answering TXT queries from a dict, for the
DKIM verifiers (python3-dkim through dnspython, Mail::DKIM through
Net::DNS): the records they check are served the way real DNS serves them,
as zone-file strings of at most 255 bytes each. Everything else: NXDOMAIN.

    with DnsStub({"sel._domainkey.example.com.": ["v=DKIM1; ...", "..."]}) as dns:
        dns.port
"""
import re
import socket
import struct
import threading

TXT, CLASS_IN = 16, 1


def records_from_zone(text):
    """{"name.": [string, …]} from zone-file lines `name TTL IN TXT "a" "b"`."""
    records = {}
    for line in text.splitlines():
        match = re.match(r'^(\S+)\s+(?:\d+\s+)?IN\s+TXT\s+(.*)$', line.strip())
        if match:
            name = match.group(1).lower()
            if not name.endswith("."):
                name += "."
            records.setdefault(name, []).extend(re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(2)))
    return records


class DnsStub:
    def __init__(self, records):
        self.records = {name.lower(): strings for name, strings in records.items()}
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self.socket.close()
        self._thread.join(timeout=2)

    def _serve(self):
        while not self._stop:
            try:
                query, client = self.socket.recvfrom(4096)
            except OSError:
                return
            try:
                self.socket.sendto(self._answer(query), client)
            except (OSError, ValueError, struct.error):
                continue

    def _answer(self, query):
        ident, flags, qdcount = struct.unpack("!HHH", query[:6])
        offset, labels = 12, []
        while query[offset]:
            length = query[offset]
            labels.append(query[offset + 1:offset + 1 + length].decode("ascii", "replace"))
            offset += 1 + length
        qtype, qclass = struct.unpack("!HH", query[offset + 1:offset + 5])
        question = query[12:offset + 5]
        name = ".".join(labels).lower() + "."
        strings = self.records.get(name) if qtype == TXT and qclass == CLASS_IN else None
        rcode = 0 if name in self.records else 3
        header_flags = 0x8400 | (flags & 0x0100) | rcode  # response, authoritative, RD copied
        answers = b""
        if strings:
            rdata = b"".join(bytes([len(s.encode())]) + s.encode() for s in strings)
            answers = b"\xc0\x0c" + struct.pack("!HHIH", TXT, CLASS_IN, 300, len(rdata)) + rdata
        return struct.pack("!HHHHHH", ident, header_flags, 1, 1 if strings else 0, 0, 0) + question + answers
