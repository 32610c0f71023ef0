// program_paths.hpp — where snmctl finds snm's other programs: in the build
// tree it was built in (so the sandbox works straight after `meson compile`),
// or in the installed paths (a package).
#pragma once

#include <string>

#include "result.hpp"

namespace snm::ctl {

enum class ProgramKind { Policyd, DkimMilter, DovecotAuthModule, SievePlugin, SpamLearn };

// The path of `kind`, or an error naming the places looked at.
Result<std::string> find_program(ProgramKind kind);

// The directory of snm's sieve scripts and their settings template: in the
// source tree when running from the build tree, else the installed one.
Result<std::string> find_sieve_scripts_dir();

}  // namespace snm::ctl
