// run_program.cpp — see run_program.hpp.
#include "run_program.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace snm::ctl {

Result<ProgramRun> run_program(const std::vector<std::string>& argv, const std::string& install_hint,
                               std::size_t max_output) {
    // The child reports a failed exec through this close-on-exec pipe.
    int output_pipe[2], exec_pipe[2];
    if (::pipe(output_pipe) != 0) return Error{fmt::format("pipe failed: {}", std::strerror(errno))};
    if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
        ::close(output_pipe[0]);
        ::close(output_pipe[1]);
        return Error{fmt::format("pipe failed: {}", std::strerror(errno))};
    }
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const pid_t child = ::fork();
    if (child == 0) {
        ::dup2(output_pipe[1], STDOUT_FILENO);
        ::dup2(output_pipe[1], STDERR_FILENO);
        ::close(output_pipe[0]);
        ::close(exec_pipe[0]);
        ::execvp(args[0], args.data());
        const int error = errno;
        (void)!::write(exec_pipe[1], &error, sizeof error);
        ::_exit(127);
    }
    ::close(output_pipe[1]);
    ::close(exec_pipe[1]);
    if (child < 0) {
        ::close(output_pipe[0]);
        ::close(exec_pipe[0]);
        return Error{fmt::format("fork failed: {}", std::strerror(errno))};
    }
    ProgramRun run;
    char buffer[4096];
    for (ssize_t n; (n = ::read(output_pipe[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR);)
        if (n > 0 && run.output.size() < max_output)
            run.output.append(buffer, std::min(static_cast<std::size_t>(n), max_output - run.output.size()));
    ::close(output_pipe[0]);
    int exec_error = 0;
    const bool exec_failed = ::read(exec_pipe[0], &exec_error, sizeof exec_error) == sizeof exec_error;
    ::close(exec_pipe[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (exec_failed)
        return Error{fmt::format("cannot run {}: {} ({})", argv[0], std::strerror(exec_error), install_hint)};
    run.succeeded = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return run;
}

}  // namespace snm::ctl
