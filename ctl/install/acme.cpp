// acme.cpp — see acme.hpp.
#include "acme.hpp"

#include <fmt/format.h>

#include "run_program.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

namespace {

// lego's key type; the default of lego and of NixOS's security.acme.
constexpr const char* kKeyType = "ec256";
// How much of lego's output an error quotes: its last lines say why.
constexpr std::size_t kQuotedOutput = 1500;

std::string lego_store(const Config& config) { return config.stateDirectory + "/acme"; }

std::string last_part(const std::string& output) {
    if (output.size() <= kQuotedOutput) return output;
    const auto cut = output.find('\n', output.size() - kQuotedOutput);
    return "…" + output.substr(cut == std::string::npos ? output.size() - kQuotedOutput : cut);
}

}  // namespace

std::vector<std::string> acme_certificate_names(const Config& config) {
    std::vector<std::string> names = {config.fqdn};
    for (const auto& name : config.certificateDomains)
        if (name != config.fqdn) names.push_back(name);
    return names;
}

LegoFiles lego_files(const Config& config) {
    const std::string base = lego_store(config) + "/certificates/" + config.fqdn;
    return {base + ".crt", base + ".key"};
}

Status obtain_with_lego(const Config& config, const Deployment& deployment) {
    if (auto made = make_directories(lego_store(config), 0700); !made) return made;
    std::vector<std::string> argv = {"lego", "--path", lego_store(config), "--server", config.acmeServer,
                                     "--accept-tos", "--email", config.acmeEmail, "--key-type", kKeyType};
    for (const auto& name : acme_certificate_names(config)) argv.insert(argv.end(), {"--domains", name});
    argv.push_back("--http");
    if (!config.acmeWebroot.empty())
        argv.insert(argv.end(), {"--http.webroot", config.acmeWebroot});
    else
        argv.insert(argv.end(), {"--http.port", fmt::format("{}:{}", deployment.listen_address, deployment.ports.http)});
    argv.push_back("run");
    auto run = run_program(argv, "Debian's lego package (apt-get install lego)");
    if (!run) return run.error();
    if (!run->succeeded)
        return Error{fmt::format("lego could not obtain a certificate for {} from {}; its output ends:\n{}",
                                 fmt::join(acme_certificate_names(config), ", "), config.acmeServer,
                                 last_part(run->output))};
    return success();
}

}  // namespace snm::ctl
