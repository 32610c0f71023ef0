// diagnostic.cpp — see diagnostic.hpp.
#include "diagnostic.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "address.hpp"

namespace snm {

std::string Diagnostic::format() const {
    const char* kind = severity == Severity::Error ? "error" : "warning";
    if (position.line == 0) return fmt::format("{}: {}: {}", file, kind, message);
    return fmt::format("{}:{}:{}: {}: {}", file, position.line, position.column, kind, message);
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) {
    return std::any_of(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const bool same = a[i - 1] == b[j - 1];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string nearest_name(std::string_view word, const std::vector<std::string_view>& candidates) {
    const std::string lowered = to_lower(word);
    std::string_view best;
    std::size_t best_distance = std::string_view::npos;
    for (auto candidate : candidates) {
        // Case-insensitive: "dkimselector" is surely "dkimSelector".
        const auto distance = edit_distance(lowered, to_lower(candidate));
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    // A suggestion must be closer than a third of the word, or it is noise.
    if (best_distance == std::string_view::npos || best_distance > std::max<std::size_t>(2, word.size() / 3))
        return {};
    return std::string(best);
}

}  // namespace snm
