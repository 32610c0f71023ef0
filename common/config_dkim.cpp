// config_dkim.cpp — [dkim] of snm.toml: onError, internalNetworks, and
// the selectors of each signing domain (config_reader.hpp).
#include "config_reader.hpp"

namespace snm::config_reading {

void Loader::read_dkim_table(const toml::node& node) {
    auto table = table_of(node, "`dkim` must be a table ([dkim])");
    if (!table) return;
    static const std::vector<Field<Config>> fields = {
        {"onError", [](Loader& l, Config& c, const toml::node& v, const std::string& q) {
             if (auto s = l.string_value(v, q)) {
                 if (*s == "tempfail") c.dkimOnError = DkimOnError::Tempfail;
                 else if (*s == "accept") c.dkimOnError = DkimOnError::Accept;
                 else l.error(v, fmt::format("`dkim.onError` is `{}`; expected \"tempfail\" or \"accept\"", *s));
             }
         }},
        networks_field("internalNetworks", &Config::dkimInternalNetworks),
        {"domains", [](Loader& l, Config&, const toml::node& v, const std::string&) {
             if (auto domains = l.table_of(v, "`dkim.domains` must be a table keyed by domain"))
                 for (auto& [domain, entry] : *domains) l.read_dkim_domain(domain, entry);
         }},
    };
    read_fields<Config>(*table, "[dkim]", "dkim", config_, fields);
}

void Loader::read_dkim_domain(const toml::key& key, const toml::node& node) {
    const std::string domain = to_lower(key.str());
    if (!is_our_domain(domain)) {
        error(position_of(key.source()), fmt::format("[dkim.domains] names `{}`, which is not in `domains` ({})", domain, domain_list()));
        return;
    }
    auto table = table_of(node, fmt::format("`dkim.domains.\"{}\"` must be a table with `selectors`", domain));
    if (!table) return;
    struct DomainEntry {
        DkimDomain domain;
        bool any_listed = false;  // a listed but bad selector has its own error
    };
    static const std::vector<Field<DomainEntry>> fields = {
        {"selectors", [](Loader& l, DomainEntry& e, const toml::node& v, const std::string&) {
             auto selectors = v.as_array();
             if (!selectors) {
                 l.error(v, "`selectors` must be a list of tables: [{ name = \"…\", algorithm = \"rsa\" | \"ed25519\" }]");
                 return;
             }
             for (auto& item : *selectors) {
                 e.any_listed = true;
                 auto selector = l.read_dkim_selector(item, e.domain.domain);
                 if (!selector) continue;
                 const bool duplicate = std::any_of(e.domain.selectors.begin(), e.domain.selectors.end(),
                                                    [&](const DkimSelector& s) { return s.name == selector->name; });
                 if (duplicate) l.error(item, fmt::format("selector `{}` is listed twice for `{}`", selector->name, e.domain.domain));
                 else e.domain.selectors.push_back(*selector);
             }
         }},
    };
    DomainEntry entry{{domain, {}}};
    read_fields<DomainEntry>(*table, fmt::format("[dkim.domains.\"{}\"]", domain), "", entry, fields);
    if (entry.domain.selectors.empty() && !entry.any_listed) {
        error(node, fmt::format("[dkim.domains.\"{}\"] has no selectors; add one or remove the table to use `dkimSelector`", domain));
        return;
    }
    config_.dkimDomains.push_back(std::move(entry.domain));
}

const std::vector<Loader::Field<Loader::SelectorEntry>>& Loader::selector_fields() {
    static const std::vector<Field<SelectorEntry>> fields = {
        {"name", [](Loader& l, SelectorEntry& e, const toml::node& v, const std::string& q) {
             auto name = l.string_value(v, q);
             if (name && is_valid_selector(*name)) e.selector.name = *name;
             else {
                 if (name) l.error(v, fmt::format("selector name `{}` is not a valid DNS label", *name));
                 e.ok = false;
             }
         }},
        {"algorithm", [](Loader& l, SelectorEntry& e, const toml::node& v, const std::string& q) {
             auto algorithm = l.string_value(v, q);
             if (algorithm && *algorithm == "rsa") e.selector.algorithm = DkimAlgorithm::Rsa;
             else if (algorithm && *algorithm == "ed25519") e.selector.algorithm = DkimAlgorithm::Ed25519;
             else {
                 if (algorithm) l.error(v, fmt::format("algorithm `{}`; expected \"rsa\" or \"ed25519\" (rsa-sha1 is never used)", *algorithm));
                 e.ok = false;
             }
         }},
        {"keyLength", [](Loader& l, SelectorEntry& e, const toml::node& v, const std::string& q) {
             if (auto bits = l.unsigned_value(v, q, 1024, 8192)) e.selector.keyBits = static_cast<unsigned>(*bits);
             else e.ok = false;
         }},
        {"keyFile", [](Loader& l, SelectorEntry& e, const toml::node& v, const std::string& q) {
             if (auto path = l.absolute_path(v, q)) e.selector.keyFile = *path;
             else e.ok = false;
         }},
    };
    return fields;
}

std::optional<DkimSelector> Loader::read_dkim_selector(const toml::node& node, const std::string& domain) {
    auto table = table_of(node, "a DKIM selector must be a table: { name = \"…\", algorithm = \"rsa\" | \"ed25519\" }");
    if (!table) return std::nullopt;
    SelectorEntry entry;
    entry.selector.position = position_of(node.source());
    entry.selector.keyBits = config_.dkimKeyBits;
    entry.domain = domain;
    read_fields<SelectorEntry>(*table, fmt::format("a selector of `{}`", domain), "", entry, selector_fields());
    if (entry.selector.name.empty() && entry.ok) {
        error(node, fmt::format("a selector of `{}` has no `name`", domain));
        entry.ok = false;
    }
    if (entry.selector.algorithm == DkimAlgorithm::Ed25519) entry.selector.keyBits = 0;
    return entry.ok ? std::optional(entry.selector) : std::nullopt;
}

}  // namespace snm::config_reading
