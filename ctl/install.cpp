// install.cpp — see install.hpp.
#include "install.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "certificates.hpp"
#include "dkim_keys.hpp"
#include "render_dovecot.hpp"
#include "render_postfix.hpp"
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

}  // namespace

Result<std::vector<std::string>> install(const Config& config, const Deployment& deployment) {
    std::vector<std::string> report;
    StagedFiles staged;
    if (auto s = stage_snapshots(config, default_snapshot_owners(), staged); !s) return s.error();
    auto keys = stage_missing_dkim_keys(config, staged);
    if (!keys) return keys.error();
    for (const auto& key : *keys)
        report.push_back(fmt::format("generated DKIM key {}; publish: {}", key.key_file, key.zone_record));

    auto certificate = prepare_certificate(config, staged);
    if (!certificate) return certificate.error();
    report.push_back(*certificate);

    RenderedFiles rendered = render_postfix(config, deployment);
    for (auto& file : render_dovecot(config, deployment)) rendered.push_back(std::move(file));
    for (const auto& file : rendered) {
        if (auto made = make_directories(parent_of(file.path), 0755); !made) return made.error();
        if (auto s = staged.stage_content(file.path, FileOwnership{file.mode, {}, {}}, file.content); !s) return s.error();
    }
    if (auto s = prepare_mail_directory(config); !s) return s.error();
    if (auto committed = staged.commit(); !committed) return committed.error();
    for (const auto& target : staged.targets()) report.push_back("installed " + target);
    return report;
}

}  // namespace snm::ctl
