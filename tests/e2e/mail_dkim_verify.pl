#!/usr/bin/perl
# mail_dkim_verify.pl PORT < message — verifies every DKIM signature of the
# message on stdin with Mail::DKIM, resolving keys through the DNS server on
# 127.0.0.1:PORT (UDP; Net::DNS retries a truncated answer over TCP).
# Prints one line per signature, top to bottom, tab-separated:
#   DOMAIN SELECTOR ALGORITHM RESULT DETAIL
# Used by dkim_verify.py.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS::Resolver;

my $port = shift or die "usage: $0 PORT < message\n";
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(
    nameservers => ['127.0.0.1'], port => $port, recurse => 0,
    udp_timeout => 5, tcp_timeout => 5, retry => 2));

my $verifier = Mail::DKIM::Verifier->new();
binmode STDIN;
my $buffer;
while (read(STDIN, $buffer, 65536)) {
    $verifier->PRINT($buffer);
}
$verifier->CLOSE();
foreach my $signature ($verifier->signatures) {
    print join("\t", $signature->domain, $signature->selector, $signature->algorithm, $signature->result,
               ($signature->result_detail // "")), "\n";
}
