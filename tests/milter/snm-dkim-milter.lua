-- snm-dkim-milter.lua — a miltertest(8) check of an installed snm-dkim-milter.
--
-- Run against a milter whose snapshot signs SIGNING_DOMAIN (any selectors):
--   miltertest -D SOCKET=unix:/run/snm/dkim-milter -D SIGNING_DOMAIN=example.com \
--              -s tests/milter/snm-dkim-milter.lua
-- It checks that the milter
--   1. negotiates header insertion, header values with their leading space
--      (SMFIP_HDR_LEADSPC) and no reply per header and body chunk;
--   2. inserts a DKIM-Signature (d=SIGNING_DOMAIN) into authenticated mail;
--   3. signs nothing for an unauthenticated client outside the internal
--      networks (198.51.100.0/24 must not be in dkim.internalNetworks);
--   4. signs nothing when the message has two From header fields.
-- miltertest exits non-zero on the first failed check. The signature's
-- validity is checked by the end-to-end tests (tests/e2e/test_milter_*.py)
-- with independent verifiers.
--
-- Note: miltertest itself puts the space back after the colon, so header
-- values are given without it; and it must not send RCPT/DATA/EOH, which
-- the milter negotiates away.

local socket = SOCKET or "unix:/run/snm/dkim-milter"
local domain = SIGNING_DOMAIN or "example.com"

local function open()
	local conn = mt.connect(socket, 40, 0.25)
	if conn == nil then error("cannot connect to " .. socket) end
	if mt.negotiate(conn, nil, nil, nil) ~= nil then error("negotiation failed") end
	return conn
end

local function message(conn, client_ip, auth, froms)
	if mt.conninfo(conn, "client.example.net", client_ip) ~= nil then error("conninfo failed") end
	if auth then
		if mt.macro(conn, SMFIC_MAIL, "i", "TESTQID", "{auth_authen}", auth) ~= nil then error("macro failed") end
	else
		if mt.macro(conn, SMFIC_MAIL, "i", "TESTQID") ~= nil then error("macro failed") end
	end
	if mt.mailfrom(conn, "<user@" .. domain .. ">") ~= nil then error("mailfrom failed") end
	for _, from in ipairs(froms) do
		if mt.header(conn, "From", from) ~= nil then error("header failed") end
	end
	if mt.header(conn, "To", "<someone@example.org>") ~= nil then error("header failed") end
	if mt.header(conn, "Subject", "miltertest check") ~= nil then error("header failed") end
	if mt.header(conn, "Date", "Tue, 1 Apr 2025 10:00:00 +0000") ~= nil then error("header failed") end
	if mt.bodystring(conn, "Hello from miltertest.\r\n") ~= nil then error("body failed") end
	if mt.eom(conn) ~= nil then error("eom failed") end
	if mt.getreply(conn) ~= SMFIR_CONTINUE and mt.getreply(conn) ~= SMFIR_ACCEPT then
		error("unexpected end-of-message reply " .. string.char(mt.getreply(conn)))
	end
end

-- 1. negotiation
local conn = open()
if not mt.test_action(conn, SMFIF_ADDHDRS) then error("the milter did not ask to add headers") end
for name, option in pairs({HDR_LEADSPC = SMFIP_HDR_LEADSPC, NR_HDR = SMFIP_NR_HDR, NR_BODY = SMFIP_NR_BODY,
                           NORCPT = SMFIP_NORCPT, NOHELO = SMFIP_NOHELO}) do
	if not mt.test_option(conn, option) then error("the milter did not negotiate SMFIP_" .. name) end
end

-- 2. authenticated: signed
message(conn, "198.51.100.7", "user@" .. domain, {"User <user@" .. domain .. ">"})
if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then error("no DKIM-Signature was inserted") end
local signature = mt.getheader(conn, "DKIM-Signature", 0)
if signature == nil or not string.find(signature, "d=" .. domain .. ";", 1, true) then
	error("the DKIM-Signature does not name d=" .. domain .. ": " .. tostring(signature))
end
mt.disconnect(conn)

-- 3. unauthenticated outside client: not signed
conn = open()
message(conn, "198.51.100.7", nil, {"User <user@" .. domain .. ">"})
if mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then error("unauthenticated mail was signed") end
mt.disconnect(conn)

-- 4. two From fields: not signed
conn = open()
message(conn, "198.51.100.7", "user@" .. domain, {"<a@" .. domain .. ">", "<b@" .. domain .. ">"})
if mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then error("a message with two From fields was signed") end
mt.disconnect(conn)

mt.echo("snm-dkim-milter: all miltertest checks passed")
