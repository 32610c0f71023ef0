// diagnostic.hpp — one finding about snm.toml, printed as
// "file:line:col: error: what is wrong; what was expected".
#pragma once

#include <string>
#include <vector>

#include "config.hpp"

namespace snm {

enum class Severity { Error, Warning };

struct Diagnostic {
    Severity severity = Severity::Error;
    std::string file;
    SourcePosition position;
    std::string message;

    // "snm.toml:12:5: error: …" (position omitted when unknown).
    std::string format() const;
};

bool has_errors(const std::vector<Diagnostic>& diagnostics);

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a likely typo.
std::string nearest_name(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace snm
