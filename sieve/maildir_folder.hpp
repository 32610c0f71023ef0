// maildir_folder.hpp — the message files of a maildir folder, for
// snm-spam-learn. A folder is a directory with cur/ and/or new/ (Dovecot's
// ~/Maildir, or a Maildir++ subfolder such as ~/Maildir/.Junk); tmp/ holds
// messages still being written and is skipped, as are dot files.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "result.hpp"

namespace snm::sieve {

// The files of cur/ and new/, sorted by path (a stable order for reports).
Result<std::vector<std::filesystem::path>> maildir_messages(const std::filesystem::path& folder);

// The whole content of a message file, or an Error when it is unreadable or
// larger than `max_bytes`.
Result<std::string> read_message_file(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace snm::sieve
