// maildir_folder.cpp — see maildir_folder.hpp.
#include "maildir_folder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace snm::sieve {

namespace fs = std::filesystem;

Result<std::vector<fs::path>> maildir_messages(const fs::path& folder) {
    std::vector<fs::path> messages;
    bool found_subdir = false;
    for (const char* sub : {"cur", "new"}) {
        const auto dir = folder / sub;
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) continue;
        found_subdir = true;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const auto& entry = *it;
            if (entry.path().filename().string().starts_with('.')) continue;
            std::error_code type_ec;
            if (entry.is_regular_file(type_ec)) messages.push_back(entry.path());
        }
        if (ec) return Error{fmt::format("cannot list {}: {}", dir.string(), ec.message())};
    }
    if (!found_subdir)
        return Error{fmt::format("{} is not a maildir folder (it has neither cur/ nor new/)", folder.string())};
    std::sort(messages.begin(), messages.end());
    return messages;
}

Result<std::string> read_message(std::istream& in, std::string_view name, std::size_t max_bytes) {
    std::string content;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer), in.gcount() > 0) {
        content.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (content.size() > max_bytes) return Error{fmt::format("{} is larger than {} bytes", name, max_bytes)};
    }
    if (in.bad()) return Error{fmt::format("cannot read {}: {}", name, std::strerror(errno))};
    return content;
}

Result<std::string> read_message_file(const fs::path& path, std::size_t max_bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{fmt::format("cannot read {}: {}", path.string(), std::strerror(errno))};
    return read_message(in, path.string(), max_bytes);
}

}  // namespace snm::sieve
