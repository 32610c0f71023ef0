#!/usr/bin/perl
# mail_dkim_verify.pl PORT < message — verifies every DKIM signature of the
# message on stdin with Mail::DKIM, resolving keys through the DNS server on
# 127.0.0.1:PORT. Prints "RESULT DOMAIN SELECTOR DETAIL" per signature.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS::Resolver;

my $port = shift or die "usage: $0 PORT < message\n";
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(
    nameservers => ['127.0.0.1'], port => $port, recurse => 1, udp_timeout => 5, retry => 2));

my $verifier = Mail::DKIM::Verifier->new();
binmode STDIN;
while (my $line = <STDIN>) {
    $verifier->PRINT($line);
}
$verifier->CLOSE();
foreach my $signature ($verifier->signatures) {
    printf "%s %s %s %s\n", $signature->result, $signature->domain, $signature->selector,
        ($signature->result_detail // "");
}
