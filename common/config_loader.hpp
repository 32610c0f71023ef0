// config_loader.hpp — reads snm.toml into a Config and checks it.
//
// Every problem is reported, not only the first, each as a Diagnostic with
// file:line:col, what is wrong and what was expected. A Config is returned
// only when there is no error (warnings, such as the deprecated numeric
// certificateScheme, do not stop it).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "diagnostic.hpp"

namespace snm {

struct LoadedConfig {
    std::optional<Config> config;  // set when there is no error
    std::vector<Diagnostic> diagnostics;
};

LoadedConfig load_config_file(const std::string& path);

// Parses TOML text; `source_name` names it in diagnostics. Relative paths
// in the text (hashedPasswordFile, …) are taken as they are.
LoadedConfig load_config_text(std::string_view text, const std::string& source_name);

}  // namespace snm
