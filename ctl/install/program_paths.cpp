// program_paths.cpp — see program_paths.hpp. SNM_BUILD_ROOT, SNM_SOURCE_ROOT,
// SNM_SBINDIR, SNM_BINDIR, SNM_DATADIR, SNM_DOVECOT_MODULEDIR come from
// ctl/meson.build.
#include "program_paths.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>

namespace snm::ctl {

namespace {

struct Location {
    const char* build_relative;  // inside the build tree
    std::string installed;
};

Location location_of(ProgramKind kind) {
    switch (kind) {
    case ProgramKind::Policyd: return {"policyd/snm-policyd", std::string(SNM_SBINDIR) + "/snm-policyd"};
    case ProgramKind::DkimMilter: return {"milter/snm-dkim-milter", std::string(SNM_SBINDIR) + "/snm-dkim-milter"};
    case ProgramKind::DovecotAuthModule:
        return {"dovecot-plugin/libauthdb_snm.so", std::string(SNM_DOVECOT_MODULEDIR) + "/auth/libauthdb_snm.so"};
    case ProgramKind::SievePlugin:
        return {"sieve/lib90_sieve_snm_plugin.so", std::string(SNM_DOVECOT_MODULEDIR) + "/sieve/lib90_sieve_snm_plugin.so"};
    case ProgramKind::SpamLearn: return {"sieve/snm-spam-learn", std::string(SNM_BINDIR) + "/snm-spam-learn"};
    }
    return {"", ""};
}

// True when this snmctl runs from the build tree it was built in.
bool running_from_build_tree() {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return false;
    const std::string build_root = SNM_BUILD_ROOT;
    return self.string().starts_with(build_root + "/");
}

}  // namespace

Result<std::string> find_program(ProgramKind kind) {
    const auto location = location_of(kind);
    const std::string built = fmt::format("{}/{}", SNM_BUILD_ROOT, location.build_relative);
    const std::string& chosen = running_from_build_tree() ? built : location.installed;
    if (::access(chosen.c_str(), R_OK) != 0)
        return Error{fmt::format("{} is missing; build it (meson compile) or install snm", chosen)};
    return chosen;
}

}  // namespace snm::ctl

namespace snm::ctl {

Result<std::string> find_sieve_scripts_dir() {
    const std::string in_source = std::string(SNM_SOURCE_ROOT) + "/sieve/scripts";
    const std::string installed = std::string(SNM_DATADIR) + "/snm/sieve";
    const std::string& chosen = running_from_build_tree() ? in_source : installed;
    if (::access(chosen.c_str(), R_OK) != 0) return Error{fmt::format("{} is missing; install snm", chosen)};
    return chosen;
}

}  // namespace snm::ctl
