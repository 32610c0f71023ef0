// install.cpp — see install.hpp.
#include "install.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <sys/random.h>

#include <fstream>

#include "certificates.hpp"
#include "dkim_keys.hpp"
#include "render_dovecot.hpp"
#include "render_postfix.hpp"
#include "render_rspamd.hpp"
#include "sieve_setup.hpp"
#include "snapshot_compiler.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

namespace {

std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

// The maildir root belongs to the vmail uid (SNM: virtualMail, 5000).
Status prepare_mail_directory(const Config& config) {
    if (auto made = make_directories(config.mailDirectory, 0750); !made) return made;
    if (::geteuid() == 0 && ::chown(config.mailDirectory.c_str(), config.vmailUID, config.vmailUID) != 0)
        return Error{fmt::format("cannot give {} to uid {}: {}", config.mailDirectory, config.vmailUID, std::strerror(errno))};
    return success();
}

// A secret shared by two of the servers (rspamd's controller password,
// the auth policy key): kept across applies, made once, 32 hex digits.
Result<std::string> kept_secret(const std::string& path, const FileOwnership& ownership, StagedFiles& staged) {
    std::string secret;
    if (std::ifstream(path) >> secret && !secret.empty()) return secret;
    unsigned char random[16];
    if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random))
        return Error{fmt::format("getrandom failed: {}", std::strerror(errno))};
    for (unsigned char byte : random) secret += fmt::format("{:02x}", byte);
    if (auto s = staged.stage_content(path, ownership, secret + "\n"); !s) return s.error();
    return secret;
}

// rspamd's controller password, readable by the mail user's processes (the
// sieve learning plugin).
Result<std::string> controller_password(const Config& config, StagedFiles& staged) {
    FileOwnership ownership{0640, {}, {}};
    if (::geteuid() == 0) ownership = FileOwnership{0640, 0, config.vmailUID};
    return kept_secret(controller_password_file(config), ownership, staged);
}

}  // namespace

Result<std::vector<std::string>> install(const Config& config, const Deployment& deployment) {
    std::vector<std::string> report;
    StagedFiles staged;
    if (auto s = stage_snapshots(config, default_snapshot_owners(), staged); !s) return s.error();
    auto keys = stage_missing_dkim_keys(config, staged);
    if (!keys) return keys.error();
    for (const auto& key : *keys)
        report.push_back(fmt::format("generated DKIM key {}; publish: {}", key.key_file, key.zone_record));

    auto certificate = prepare_certificate(config, deployment, CertificateRefresh::Missing, staged);
    if (!certificate) return certificate.error();
    report.push_back(certificate->report);

    auto password = controller_password(config, staged);
    if (!password) return password.error();
    // Read by snm-policyd (before it drops root) and by Dovecot's config.
    auto auth_policy_key = kept_secret(auth_policy_key_file(config), FileOwnership{0600, {}, {}}, staged);
    if (!auth_policy_key) return auth_policy_key.error();

    RenderedFiles rendered = render_postfix(config, deployment);
    for (auto& file : render_dovecot(config, deployment, *auth_policy_key)) rendered.push_back(std::move(file));
    for (auto& file : render_rspamd(config, deployment, *password)) rendered.push_back(std::move(file));
    if (deployment.sandbox)
        for (auto& file : render_sandbox_services(config, deployment)) rendered.push_back(std::move(file));
    auto sieve = prepare_sieve(config, deployment);
    if (!sieve) return sieve.error();
    for (auto& file : sieve->files) rendered.push_back(std::move(file));
    for (const auto& file : rendered) {
        if (auto made = make_directories(parent_of(file.path), 0755); !made) return made.error();
        if (auto s = staged.stage_content(file.path, FileOwnership{file.mode, {}, {}}, file.content); !s) return s.error();
    }
    if (auto s = prepare_mail_directory(config); !s) return s.error();
    if (auto committed = staged.commit(); !committed) return committed.error();
    for (const auto& target : staged.targets()) report.push_back("installed " + target);
    if (auto compiled = compile_installed_scripts(*sieve); !compiled)
        return compiled.error();
    report.push_back(fmt::format("compiled {} sieve scripts", sieve->to_compile.size()));
    return report;
}

}  // namespace snm::ctl
