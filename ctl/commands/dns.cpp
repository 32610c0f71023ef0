// dns.cpp — `snmctl dns -c FILE [--root DIR] [--ipv4 ADDR] [--ipv6 ADDR]`:
// every DNS record a mail server built from snm.toml needs, as a zone-file
// snippet (the seed README's "10/10" guide): A/AAAA for the fqdn, and per
// domain MX, SPF, one DKIM TXT per selector, and a DMARC starting point.
// Reverse DNS (PTR) is set at the address's provider; a comment says so.
#include <fmt/format.h>

#include <cstdio>

#include "command_config.hpp"
#include "commands.hpp"
#include "dkim_keys.hpp"

namespace snm::ctl {

int run_dns(const Arguments& args) {
    OptionParser options({.name = "snmctl dns",
                          .usage = "usage: snmctl dns -c FILE [--root DIR] [--ipv4 ADDR] [--ipv6 ADDR]\n",
                          .valued = {{"--config", "-c"}, {"--root"}, {"--ipv4"}, {"--ipv6"}}});
    if (auto status = options.parse(args)) return *status;
    const auto loaded = load_for_command(options, PostfixCheck::Skip);
    if (!loaded.config) return loaded.exit_status;
    const Config config = rooted_at(*loaded.config, options.value("--root").value_or("/"));
    const auto ipv4 = options.value("--ipv4");
    const auto ipv6 = options.value("--ipv6");

    int status = kExitOk;
    fmt::print("; DNS records for the mail server {} (snmctl dns)\n", config.fqdn);
    fmt::print("; also set reverse DNS (PTR) of the server's addresses to {} at your provider\n", config.fqdn);
    fmt::print("{}. {} IN A {}\n", config.fqdn, kDnsTtl, ipv4.value_or("<server-IPv4>"));
    if (ipv6) fmt::print("{}. {} IN AAAA {}\n", config.fqdn, kDnsTtl, *ipv6);
    std::string spf = "v=spf1 mx";
    if (ipv4) spf += " ip4:" + *ipv4;
    if (ipv6) spf += " ip6:" + *ipv6;
    spf += " -all";
    for (const auto& domain : config.domains) {
        fmt::print("\n; {}\n", domain);
        fmt::print("{}. {} IN MX 10 {}.\n", domain, kDnsTtl, config.fqdn);
        fmt::print("{}. {} IN TXT {}\n", domain, kDnsTtl, quoted_txt_strings(spf));
        if (config.dkimSigning)
            for (const auto& selector : config.selectors_for(domain)) {
                auto key = read_dkim_key(selector.keyFile);
                if (!key) {
                    fmt::print(stderr, "snmctl dns: {}\n", key.error().message);
                    fmt::print("; DKIM selector {}: no key yet (run `snmctl apply`)\n", selector.name);
                    status = kExitFailure;
                    continue;
                }
                fmt::print("{}\n", dkim_zone_record(domain, selector.name, dkim_txt_value(key->algorithm, key->public_key)));
            }
        fmt::print("_dmarc.{}. {} IN TXT {}\n", domain, kDnsTtl,
                   quoted_txt_strings(fmt::format("v=DMARC1; p=none; rua=mailto:postmaster@{}", domain)));
    }
    return status;
}

}  // namespace snm::ctl
