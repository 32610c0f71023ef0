// rendered_file.cpp — see rendered_file.hpp.
#include "rendered_file.hpp"

#include <fmt/format.h>

namespace snm::ctl {

std::string rendered_header(const std::string& what, const std::string& source) {
    return fmt::format(
        "# {} — rendered by snmctl from {}.\n"
        "# Do not edit: change snm.toml and run `snmctl apply`; this file is replaced.\n",
        what, source);
}

}  // namespace snm::ctl
