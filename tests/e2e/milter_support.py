"""Helpers for the snm-dkim-milter end-to-end tests.

* `MilterSetup`: `snmctl apply` of a small snm.toml into a private root, the
  TXT records `snmctl dkim dns` printed, and snm-dkim-milter started on a
  unix socket or a loopback TCP port (stopped by pid).
  A dns_stub.DnsStub serves those records (`setup.dns.port`), for the
  verifiers in dkim_verify.py.
* `miltertest_sign`: drives the milter with Debian's miltertest (a Lua
  script written per message) and returns its verdict and the
  DKIM-Signature fields it inserted.
* `MilterClient` / `client_sign`: the same over a Postfix-like client.
"""
import os
import socket
import struct
from pathlib import Path

import snmtest
from dns_stub import DnsStub, records_from_zone

MILTER = snmtest.BUILD_DIR / "milter" / "snm-dkim-milter"


# ---------------------------------------------------------------- the milter

class MilterSetup:
    """A private root with keys, the milter running against it, and a DNS stub."""

    def __init__(self, tmp_path, config_text, socket_kind="unix"):
        self.tmp_path = Path(tmp_path)
        self.root = self.tmp_path / "root"
        self.config = self.tmp_path / "snm.toml"
        self.config.write_text(config_text)
        snmtest.snmctl("apply", "-c", self.config, "--root", self.root)
        self.state = self.root / "var" / "lib" / "snm"
        self.zone = snmtest.snmctl("dkim", "dns", "-c", self.config, "--root", self.root).stdout
        self.dns = DnsStub(records_from_zone(self.zone))
        self.log_path = self.tmp_path / "milter.log"
        if socket_kind == "unix":
            self.socket_path = self.tmp_path / "milter.sock"
            self.spec = f"unix:{self.socket_path}"
        else:
            self.port = snmtest.free_port()
            self.spec = f"inet:{self.port}@127.0.0.1"
        self.process = snmtest.Process([MILTER, "-f", "--state", self.state, "--socket", self.spec],
                                       log_path=self.log_path)
        if socket_kind == "unix":
            snmtest.wait_for_path(self.socket_path)
        else:
            snmtest.wait_for_port(self.port)

    def reload(self):
        import signal
        os.kill(self.process.pid, signal.SIGHUP)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def close(self):
        self.process.stop()
        self.dns.close()


def lua_string(data):
    """A Lua string literal holding `data` (bytes or str) exactly."""
    if isinstance(data, str):
        data = data.encode()
    out = []
    for byte in data:
        if 32 <= byte < 127 and byte not in (ord('"'), ord("\\")):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def miltertest_sign(setup, headers, body, auth_user="user1@example.com", client=("client.example.net", "192.0.2.10"),
                    script_name="sign.lua"):
    """Sends one message to the milter with miltertest, as Postfix would:
    header values keep the space after the colon (SMFIP_HDR_LEADSPC) and fold
    with LF; the body has CRLF line ends. Values start with that space. Returns (reply, [DKIM-Signature values])."""
    tmp = setup.tmp_path
    body_path = tmp / (script_name + ".body")
    body_path.write_bytes(body)
    out_path = tmp / (script_name + ".out")
    lines = [
        f'local conn = mt.connect({lua_string(setup.spec)}, 20, 0.1)',
        'assert(conn, "cannot connect to the milter")',
        'assert(mt.negotiate(conn, nil, nil, nil) == nil)',
        f'assert(mt.conninfo(conn, {lua_string(client[0])}, {lua_string(client[1])}) == nil)',
    ]
    macros = ['"i"', '"4F2A1B3C"']
    if auth_user:
        macros += ['"{auth_authen}"', lua_string(auth_user)]
    lines.append(f'assert(mt.macro(conn, SMFIC_MAIL, {", ".join(macros)}) == nil)')
    lines.append('assert(mt.mailfrom(conn, "<sender@example.com>") == nil)')
    for name, value in headers:
        # miltertest puts back the space after the colon itself when the
        # milter negotiated SMFIP_HDR_LEADSPC, as Postfix keeps it: hand it
        # the value without that space.
        assert value.startswith(" "), f"{name}: miltertest can only send values that start with a space"
        lines.append(f'assert(mt.header(conn, {lua_string(name)}, {lua_string(value[1:])}) == nil)')
    if body:
        lines.append(f'assert(mt.bodyfile(conn, {lua_string(str(body_path))}) == nil)')
    else:  # an empty chunk: miltertest would otherwise invent a body
        lines.append('assert(mt.bodystring(conn, "") == nil)')
    lines += [
        'assert(mt.eom(conn) == nil)',
        f'local out = assert(io.open({lua_string(str(out_path))}, "wb"))',
        'out:write(string.char(mt.getreply(conn)), "\\n")',
        'local i = 0',
        'while true do',
        '  local value = mt.getheader(conn, "DKIM-Signature", i)',
        '  if value == nil then break end',
        '  out:write(value, "\\0")',
        '  i = i + 1',
        'end',
        'out:close()',
        'mt.disconnect(conn)',
    ]
    script = tmp / script_name
    script.write_text("\n".join(lines) + "\n")
    snmtest.run(["miltertest", "-s", script], timeout=600)
    raw = out_path.read_bytes()
    reply, _, rest = raw.partition(b"\n")
    signatures = [s.decode() for s in rest.split(b"\0") if s]
    return reply.decode(), signatures


def assemble(signatures, headers, body):
    """The message as the MTA passes it on: the inserted fields on top (LF
    folds become CRLF on the wire), then the original header and body."""
    out = b""
    for value in signatures:
        out += b"DKIM-Signature:" + value.replace("\n", "\r\n").encode() + b"\r\n"
    for name, value in headers:
        data = value if isinstance(value, bytes) else value.encode()
        out += name.encode() + b":" + data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
    return out + b"\r\n" + body


# ------------------------------------------------- a Postfix-like milter client

SMFIP = {"NOCONNECT": 0x1, "NOHELO": 0x2, "NOMAIL": 0x4, "NORCPT": 0x8, "NOBODY": 0x10, "NOHDRS": 0x20,
         "NOEOH": 0x40, "NR_HDR": 0x80, "NOUNKNOWN": 0x100, "NODATA": 0x200, "SKIP": 0x400, "RCPT_REJ": 0x800,
         "NR_CONN": 0x1000, "NR_HELO": 0x2000, "NR_MAIL": 0x4000, "NR_RCPT": 0x8000, "NR_DATA": 0x10000,
         "NR_UNKN": 0x20000, "NR_EOH": 0x40000, "NR_BODY": 0x80000, "HDR_LEADSPC": 0x100000}
# What Postfix 3.7's milter8 client offers (protocol 6, every step flag).
POSTFIX_OFFER = sum(SMFIP.values())
CHUNK = 65535


class MilterClient:
    """Speaks the MTA side of the milter protocol on one connection, the way
    Postfix's milter8 client does: it skips the events the milter negotiated
    away and waits for a reply only where the milter did not waive it."""

    def __init__(self, spec, timeout=60):
        if spec.startswith("unix:"):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(spec[5:])
        else:
            port, host = spec[5:].split("@")
            self.sock = socket.create_connection((host, int(port)))
        self.sock.settimeout(timeout)
        self.protocol = 0
        self.macro_lists = {}

    def send(self, command, data=b""):
        self.sock.sendall(struct.pack("!I", len(data) + 1) + command + data)

    def read(self):
        header = self._exactly(5)
        (length,) = struct.unpack("!I", header[:4])
        return header[4:5], self._exactly(length - 1)

    def _exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the milter closed the connection")
            data += chunk
        return data

    def negotiate(self, offer=POSTFIX_OFFER):
        self.send(b"O", struct.pack("!III", 6, 0x1FF, offer))
        command, data = self.read()
        assert command == b"O"
        _version, self.actions, self.protocol = struct.unpack("!III", data[:12])
        rest = data[12:]
        while len(rest) >= 4:
            (stage,) = struct.unpack("!I", rest[:4])
            names, _, rest = rest[4:].partition(b"\0")
            self.macro_lists[stage] = names.decode().split()

    def _event(self, command, data, skip_flag, no_reply_flag):
        if self.protocol & skip_flag:
            return None
        self.send(command, data)
        if self.protocol & no_reply_flag:
            return None
        reply, _ = self.read()
        return reply

    def message(self, headers, body, client=("client.example.net", "192.0.2.10"), auth_user=None, queue_id="QID1",
                connect=True):
        """One message; returns (final reply letter, [(index, name, value) inserted])."""
        p = SMFIP
        if connect:
            address = client[1].encode()
            family = b"6" if ":" in client[1] else b"4"
            port = client[2] if len(client) > 2 else 4711
            self._event(b"C", client[0].encode() + b"\0" + family + struct.pack("!H", port) + address + b"\0",
                        p["NOCONNECT"], p["NR_CONN"])
            self._event(b"H", b"client.example.net\0", p["NOHELO"], p["NR_HELO"])
        macros = b"M" + b"i\0" + queue_id.encode() + b"\0"
        if auth_user:
            macros += b"{auth_authen}\0" + auth_user.encode() + b"\0"
        if not self.protocol & p["NOMAIL"]:
            self.send(b"D", macros)
        self._event(b"M", b"<sender@example.com>\0", p["NOMAIL"], p["NR_MAIL"])
        self._event(b"R", b"<rcpt@example.org>\0", p["NORCPT"], p["NR_RCPT"])
        self._event(b"T", b"", p["NODATA"], p["NR_DATA"])
        for name, value in headers:
            data = value.encode() if isinstance(value, str) else value
            if not self.protocol & p["HDR_LEADSPC"] and data.startswith(b" "):
                data = data[1:]
            self._event(b"L", name.encode() + b"\0" + data + b"\0", p["NOHDRS"], p["NR_HDR"])
        self._event(b"N", b"", p["NOEOH"], p["NR_EOH"])
        if not self.protocol & p["NOBODY"]:
            for at in range(0, len(body), CHUNK):
                self._event(b"B", body[at:at + CHUNK], p["NOBODY"], p["NR_BODY"])
        self.send(b"D", b"E" + b"i\0" + queue_id.encode() + b"\0")
        self.send(b"E")
        inserted = []
        while True:
            command, data = self.read()
            if command in (b"i", b"h"):
                if command == b"i":
                    (index,) = struct.unpack("!I", data[:4])
                    data = data[4:]
                else:
                    index = None
                name, value, _ = data.split(b"\0", 2)
                inserted.append((index, name.decode(), value.decode()))
            elif command == b"p":  # progress
                continue
            else:
                return command.decode(), inserted

    def quit(self):
        self.send(b"Q")
        self.sock.close()


def client_sign(setup, headers, body, auth_user="user1@example.com", **kwargs):
    """Like miltertest_sign, over MilterClient: (reply, [DKIM-Signature values])."""
    client = MilterClient(setup.spec)
    client.negotiate()
    reply, inserted = client.message(headers, body, auth_user=auth_user, **kwargs)
    client.quit()
    return reply, [value for _, name, value in inserted if name == "DKIM-Signature"]
