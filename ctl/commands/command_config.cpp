// command_config.cpp — see command_config.hpp.
#include "command_config.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "config_loader.hpp"
#include "postfix_features.hpp"

namespace snm::ctl {

CommandConfig load_for_command(const OptionParser& options, PostfixCheck postfix) {
    const auto file = options.value("--config");
    if (!file) return {std::nullopt, options.usage_error("missing -c FILE")};
    auto loaded = load_config_file(*file);
    for (const auto& diagnostic : loaded.diagnostics) fmt::print(stderr, "{}\n", diagnostic.format());
    if (!loaded.config) {
        std::size_t errors = 0;
        for (const auto& diagnostic : loaded.diagnostics) errors += diagnostic.severity == Severity::Error;
        fmt::print(stderr, "{}: {} error{}; nothing was changed\n", *file, errors, errors == 1 ? "" : "s");
        return {std::nullopt, kExitFailure};
    }
    if (postfix == PostfixCheck::Require && !print_postfix_features(*loaded.config)) {
        fmt::print(stderr, "{}: this machine's Postfix cannot serve the configuration; nothing was changed\n", *file);
        return {std::nullopt, kExitFailure};
    }
    return {std::move(loaded.config), kExitOk};
}

}  // namespace snm::ctl
