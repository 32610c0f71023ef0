// run_program.hpp — runs one of the stock tools snmctl relies on (sievec,
// postconf) and captures what it printed, so a failure can be quoted.
#pragma once

#include <string>
#include <vector>

#include "result.hpp"

namespace snm::ctl {

// What a finished program printed (stdout and stderr together, at most
// max_output bytes) and whether it exited with status 0.
struct ProgramRun {
    bool succeeded = false;
    std::string output;
};

// The longest output kept by default; the rest is read and dropped.
inline constexpr std::size_t kMaxProgramOutput = 16 * 1024;

// Runs `argv` (argv[0] looked up in PATH) and waits for it. An error only
// if it could not be started; `install_hint` says which package provides it.
Result<ProgramRun> run_program(const std::vector<std::string>& argv, const std::string& install_hint,
                               std::size_t max_output = kMaxProgramOutput);

}  // namespace snm::ctl
