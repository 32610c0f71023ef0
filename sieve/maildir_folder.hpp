// maildir_folder.hpp — the message files of a maildir folder, for
// snm-spam-learn. A folder is a directory with cur/ and/or new/ (Dovecot's
// ~/Maildir, or a Maildir++ subfolder such as ~/Maildir/.Junk); tmp/ holds
// messages still being written and is skipped, as are dot files.
#pragma once

#include <filesystem>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace snm::sieve {

// The files of cur/ and new/, sorted by path (a stable order for reports).
Result<std::vector<std::filesystem::path>> maildir_messages(const std::filesystem::path& folder);

// The whole of a message read from `in` (named `name` in errors), or an
// Error when it cannot be read or is larger than `max_bytes`.
Result<std::string> read_message(std::istream& in, std::string_view name, std::size_t max_bytes);

// read_message() of a file.
Result<std::string> read_message_file(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace snm::sieve
