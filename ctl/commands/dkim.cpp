// dkim.cpp — `snmctl dkim keygen|list|dns -c FILE [--root DIR]` and
// `snmctl dkim rotate -c FILE --domain DOMAIN [--selector NEW] [--root DIR]`:
// the DKIM keys of every signing domain and selector.
//
//   keygen  creates the missing keys (as `snmctl apply` does, all or
//           nothing) and prints the TXT records to publish for them;
//   list    one line per selector: domain, selector, algorithm, size, key
//           file, and whether the milter would accept it (and why not);
//   dns     the TXT records of all keys, as zone-file lines;
//   rotate  starts a key rotation for DOMAIN: a new key for each of its
//           selectors, same algorithm and size, under a new selector (a key
//           is never replaced under its selector: DNS caches would keep the
//           old record), all or nothing; then prints the records to
//           publish, the [dkim.domains."DOMAIN"] table that signs with old
//           and new selectors, and the steps that end the rotation.
//           snm.toml is never rewritten; the administrator edits it.
//
// Successor names: `mail` becomes `mail-YYYYMM` (this month, UTC); a stamp
// from an earlier rotation is replaced, not added to (`mail-202605` becomes
// `mail-202611`). If that name is configured for the domain or its key file
// exists, `-2`, `-3`, … is appended. `--selector NEW` names the successor
// itself, for a domain with one selector only. A domain with two selectors
// of one algorithm is in the middle of a rotation and is refused.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "address.hpp"
#include "command_config.hpp"
#include "commands.hpp"
#include "dkim_keys.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

namespace {

constexpr const char* kUsage =
    "usage: snmctl dkim keygen|list|dns -c FILE [--root DIR]\n"
    "       snmctl dkim rotate -c FILE --domain DOMAIN [--selector NEW] [--root DIR]\n";

// Successor names tried per selector in one month: `-2` … `-99`; needing
// more means something else is wrong.
constexpr unsigned kMaxSuccessorSuffix = 99;
// Digits of the date stamp YYYYMM.
constexpr std::size_t kStampDigits = 6;

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


bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// This month in UTC, as YYYYMM.
std::string month_stamp() {
    const std::chrono::year_month_day today{std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
    return fmt::format("{:04}{:02}", static_cast<int>(today.year()), static_cast<unsigned>(today.month()));
}

// `name` without the "-YYYYMM" or "-YYYYMM-N" an earlier rotation gave it.
std::string_view undated(std::string_view name) {
    const auto without_tail = [](std::string_view text, auto is_tail) -> std::optional<std::string_view> {
        const auto dash = text.rfind('-');
        if (dash == std::string_view::npos || dash == 0 || !is_tail(text.substr(dash + 1))) return std::nullopt;
        return text.substr(0, dash);
    };
    const auto is_stamp = [](std::string_view tail) { return tail.size() == kStampDigits && all_digits(tail); };
    const auto is_count = [](std::string_view tail) { return tail.size() < kStampDigits && all_digits(tail); };
    if (auto base = without_tail(name, is_stamp)) return *base;
    if (auto counted = without_tail(name, is_count))
        if (auto base = without_tail(*counted, is_stamp)) return *base;
    return name;
}

// A TOML basic string.
std::string toml_string(std::string_view text) {
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return quoted + '"';
}

// One entry of `selectors = [...]`, as the administrator writes it.
std::string selector_entry(const Config& written, const std::string& domain, const DkimSelector& selector) {
    std::string entry = fmt::format("{{ name = {}, algorithm = \"{}\"", toml_string(selector.name),
                                    to_string(selector.algorithm));
    if (selector.algorithm == DkimAlgorithm::Rsa) entry += fmt::format(", keyLength = {}", selector.keyBits);
    if (selector.keyFile != written.default_dkim_key_file(domain, selector.name))
        entry += ", keyFile = " + toml_string(selector.keyFile);
    return entry + " }";
}

// "`a`, `b` and `c`"
std::string quoted_list(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
        out += fmt::format("`{}`", items[i]);
    }
    return out;
}

// The name of the selector succeeding `old`, or an error.
Result<std::string> successor_name(const Config& config, const std::string& domain, const std::string& old,
                                   const std::vector<std::string>& taken) {
    const std::string dated = fmt::format("{}-{}", undated(old), month_stamp());
    for (unsigned n = 1; n <= kMaxSuccessorSuffix; ++n) {
        const std::string name = n == 1 ? dated : fmt::format("{}-{}", dated, n);
        if (!is_valid_selector(name))
            return Error{fmt::format("the successor of selector `{}`, `{}`, is longer than a DNS label may be; "
                                     "shorten the selector", old, name)};
        if (std::find(taken.begin(), taken.end(), name) == taken.end() &&
            !path_exists(config.default_dkim_key_file(domain, name)))
            return name;
    }
    return Error{fmt::format("every successor name of selector `{}` from `{}` to `{}-{}` is configured or has a key "
                             "file already", old, dated, dated, kMaxSuccessorSuffix)};
}

// What to do with the keys `rotate` made: publish, sign with both, drop the old.
void print_rotation_steps(const Config& written, const std::string& config_file, const std::string& domain,
                          const std::vector<DkimSelector>& current, const std::vector<DkimSelector>& successors,
                          const std::vector<GeneratedKey>& keys) {
    std::vector<std::string> names;
    for (const auto& old : current) names.push_back(old.name);
    const char* plural = current.size() > 1 ? "s" : "";
    fmt::print("; 1. Publish now, beside the current record{}:\n", plural);
    for (std::size_t i = 0; i < keys.size(); ++i)
        fmt::print("; new {} key {}\n{}\n", to_string(successors[i].algorithm), keys[i].key_file, keys[i].zone_record);
    fmt::print("\n# 2. Sign with the old and the new keys: in {}, replace (or add) this table\n"
               "#    and run `snmctl apply`:\n[dkim.domains.{}]\nselectors = [\n",
               config_file, toml_string(domain));
    for (const auto& old : written.selectors_for(domain)) fmt::print("  {},\n", selector_entry(written, domain, old));
    for (auto next : successors) {
        next.keyFile = written.default_dkim_key_file(domain, next.name);  // not the one under --root
        fmt::print("  {},\n", selector_entry(written, domain, next));
    }
    fmt::print("]\n\n# 3. Once DNS answers with the new record{}:\n", plural);
    for (const auto& next : successors) fmt::print("#      dig +short TXT {}._domainkey.{}\n", next.name, domain);
    fmt::print("#    remove {} from the list and run `snmctl apply`.\n"
               "# 4. A few days later (mail signed with the old key{} may still be in transit),\n"
               "#    delete the old TXT record{} and key file{}:\n",
               quoted_list(names), plural, plural, plural);
    for (const auto& old : current) fmt::print("#      {}._domainkey.{}\n", old.name, domain);
    for (const auto& old : current) fmt::print("#      {} and {}\n", old.keyFile, dkim_txt_path(old.keyFile));
}

// `written` is the configuration as in FILE, `config` the same under --root.
int rotate(const Config& written, const Config& config, const std::string& config_file,
           const std::string& domain_argument, const std::optional<std::string>& requested) {
    const std::string domain = to_lower(domain_argument);
    if (std::find(config.domains.begin(), config.domains.end(), domain) == config.domains.end()) {
        fmt::print(stderr, "snmctl dkim rotate: `{}` is not one of the domains of {} ({}); nothing was written\n",
                   domain_argument, config_file, quoted_list(config.domains));
        return kExitFailure;
    }
    if (!config.dkimSigning) {
        fmt::print(stderr, "snmctl dkim rotate: {} sets dkimSigning = false, so `{}` has no key to rotate; nothing "
                           "was written\n", config_file, domain);
        return kExitFailure;
    }
    const auto current = config.selectors_for(domain);
    std::vector<std::string> names;
    for (const auto& selector : current) {
        for (const auto& other : current)
            if (&other != &selector && other.algorithm == selector.algorithm) {
                fmt::print(stderr, "snmctl dkim rotate: `{}` has two {} selectors, `{}` and `{}`: a rotation is under "
                                   "way; finish it first (drop the old selector from {} and run `snmctl apply`); "
                                   "nothing was written\n",
                           domain, to_string(selector.algorithm), selector.name, other.name, config_file);
                return kExitFailure;
            }
        names.push_back(selector.name);
    }
    if (requested && current.size() > 1) {
        fmt::print(stderr, "snmctl dkim rotate: --selector names one new selector, but `{}` has {} ({}) and each gets "
                           "its own successor; leave --selector out to name them <old>-YYYYMM\n{}",
                   domain, current.size(), quoted_list(names), kUsage);
        return kExitUsage;
    }
    if (requested && !is_valid_selector(*requested)) {
        fmt::print(stderr, "snmctl dkim rotate: --selector `{}` is not a valid selector (a DNS name of letters, "
                           "digits and hyphens)\n{}", *requested, kUsage);
        return kExitUsage;
    }
    if (requested && std::find(names.begin(), names.end(), *requested) != names.end()) {
        fmt::print(stderr, "snmctl dkim rotate: selector `{}` is already configured for `{}`; name a new one; "
                           "nothing was written\n", *requested, domain);
        return kExitFailure;
    }

    std::vector<std::string> taken = names;
    std::vector<DkimSelector> successors;
    for (const auto& old : current) {
        DkimSelector next;
        if (requested) {
            next.name = *requested;
        } else {
            auto name = successor_name(config, domain, old.name, taken);
            if (!name) {
                fmt::print(stderr, "snmctl dkim rotate: {}; nothing was written\n", name.error().message);
                return kExitFailure;
            }
            next.name = *name;
        }
        next.algorithm = old.algorithm;
        next.keyBits = old.keyBits;
        next.keyFile = config.default_dkim_key_file(domain, next.name);
        taken.push_back(next.name);
        successors.push_back(std::move(next));
    }

    StagedFiles staged;
    std::vector<GeneratedKey> keys;
    for (const auto& next : successors) {
        auto key = stage_dkim_key(domain, next, staged);
        if (!key) {
            fmt::print(stderr, "snmctl dkim rotate: {}; nothing was written\n", key.error().message);
            return kExitFailure;
        }
        keys.push_back(std::move(*key));
    }
    if (auto committed = staged.commit(); !committed) {
        fmt::print(stderr, "snmctl dkim rotate: {}\n", committed.error().message);
        return kExitFailure;
    }

    print_rotation_steps(written, config_file, domain, current, successors, keys);
    return kExitOk;
}

}  // namespace

int run_dkim(const Arguments& args) {
    OptionParser options({.name = "snmctl dkim",
                          .usage = kUsage,
                          .valued = {{"--config", "-c"}, {"--root"}, {"--domain"}, {"--selector"}},
                          .max_positionals = 1});
    if (auto status = options.parse(args)) return *status;
    if (options.positionals().empty()) return options.usage_error("missing subcommand");
    const std::string action = options.positionals().front();
    if (action != "keygen" && action != "list" && action != "dns" && action != "rotate")
        return options.usage_error(fmt::format("unknown subcommand `{}`", action));
    if (action == "rotate" && !options.value("--domain")) return options.usage_error("missing --domain DOMAIN");
    if (action != "rotate" && (options.value("--domain") || options.value("--selector")))
        return options.usage_error("--domain and --selector belong to `snmctl dkim rotate`");
    const auto loaded = load_for_command(options, PostfixCheck::Skip);
    if (!loaded.config) return loaded.exit_status;
    const Config config = rooted_at(*loaded.config, options.value("--root").value_or("/"));
    if (action == "keygen") return keygen(config);
    if (action == "list") return list(config);
    if (action == "rotate")
        return rotate(*loaded.config, config, *options.value("--config"), *options.value("--domain"),
                      options.value("--selector"));
    return dns(config);
}

}  // namespace snm::ctl
