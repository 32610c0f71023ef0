// dkim.cpp — `snmctl dkim keygen|list|dns -c FILE [--root DIR]`: the DKIM
// keys of every signing domain and selector.
//
//   keygen  creates the missing keys (as `snmctl apply` does, all or
//           nothing) and prints the TXT records to publish for them;
//   list    one line per selector: domain, selector, algorithm, size, key
//           file, and whether the milter would accept it (and why not);
//   dns     the TXT records of all keys, as zone-file lines.
#include <fmt/format.h>

#include <cstdio>

#include "commands.hpp"
#include "config_loader.hpp"
#include "dkim_keys.hpp"
#include "option_parser.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

namespace {

constexpr const char* kUsage = "usage: snmctl dkim keygen|list|dns -c FILE [--root DIR]\n";

int keygen(const Config& config) {
    StagedFiles staged;
    auto generated = stage_missing_dkim_keys(config, staged);
    if (!generated) {
        fmt::print(stderr, "snmctl dkim keygen: {}; nothing was changed\n", generated.error().message);
        return kExitFailure;
    }
    if (auto committed = staged.commit(); !committed) {
        fmt::print(stderr, "snmctl dkim keygen: {}\n", committed.error().message);
        return kExitFailure;
    }
    if (generated->empty()) fmt::print("every selector has its key already\n");
    for (const auto& key : *generated)
        fmt::print("; new key {} (publish this record)\n{}\n", key.key_file, key.zone_record);
    return kExitOk;
}

int list(const Config& config) {
    int status = kExitOk;
    for (const auto& domain : config.domains)
        for (const auto& selector : config.selectors_for(domain)) {
            auto loaded = load_dkim_key(selector.keyFile, selector.algorithm);
            std::string size = selector.algorithm == DkimAlgorithm::Rsa ? fmt::format("{}", selector.keyBits) : "256";
            if (loaded) size = fmt::format("{}", loaded->bits);
            fmt::print("{}\t{}\t{}\t{}\t{}\t{}\n", domain, selector.name, to_string(selector.algorithm), size,
                       selector.keyFile, loaded ? (loaded->warning ? "ok (no TXT file)" : "ok") : "UNUSABLE");
            if (!loaded) {
                fmt::print(stderr, "  {}\n", loaded.error().message);
                status = kExitFailure;
            }
        }
    return status;
}

int dns(const Config& config) {
    int status = kExitOk;
    for (const auto& domain : config.domains)
        for (const auto& selector : config.selectors_for(domain)) {
            auto key = read_dkim_key(selector.keyFile);
            if (!key) {
                fmt::print(stderr, "snmctl dkim dns: {}\n", key.error().message);
                status = kExitFailure;
                continue;
            }
            fmt::print("{}\n", dkim_zone_record(domain, selector.name, dkim_txt_value(key->algorithm, key->public_key)));
        }
    return status;
}

}  // namespace

int run_dkim(const Arguments& args) {
    if (args.empty()) {
        fmt::print(stderr, "snmctl dkim: missing subcommand\n{}", kUsage);
        return kExitUsage;
    }
    const std::string action = args.front();
    OptionParser options({{"--config", "-c"}, {"--root", ""}}, {});
    const Arguments rest(args.begin() + 1, args.end());
    if (auto problem = options.parse(rest); !problem.empty() || !options.value("--config")) {
        fmt::print(stderr, "snmctl dkim {}: {}\n{}", action, problem.empty() ? "missing -c FILE" : problem, kUsage);
        return kExitUsage;
    }
    if (action != "keygen" && action != "list" && action != "dns") {
        fmt::print(stderr, "snmctl dkim: unknown subcommand `{}`\n{}", action, kUsage);
        return kExitUsage;
    }
    const auto loaded = load_config_file(*options.value("--config"));
    for (const auto& diagnostic : loaded.diagnostics) fmt::print(stderr, "{}\n", diagnostic.format());
    if (!loaded.config) return kExitFailure;
    const Config config = rooted_at(*loaded.config, options.value("--root").value_or("/"));
    if (action == "keygen") return keygen(config);
    if (action == "list") return list(config);
    return dns(config);
}

}  // namespace snm::ctl
