// install.cpp — see install.hpp.
#include "install.hpp"

#include <grp.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/random.h>

#include <fstream>
#include <map>

#include "certificates.hpp"
#include "change_report.hpp"
#include "dkim_keys.hpp"
#include "render_dovecot.hpp"
#include "render_postfix.hpp"
#include "render_rspamd.hpp"
#include "run_program.hpp"
#include "service_reload.hpp"
#include "sieve_setup.hpp"
#include "snapshot_compiler.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

namespace {

// The user the snm-policyd package makes; it reads the auth policy key.
constexpr const char* kPolicydUser = "snm-policyd";
// What apply says when every staged file is already in place.
constexpr const char* kNoChange = "no change: the installed files are what the configuration compiles to";
// The first line of every file snmctl renders contains this (rendered_header).
constexpr std::string_view kRenderedMark = "rendered by snmctl from";

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
    return hex;
}

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
    if (std::ifstream(path) >> secret && !secret.empty()) {
        // Staged again so its owner follows the ownership asked for.
        if (auto s = staged.stage_content(path, ownership, secret + "\n"); !s) return s.error();
        return secret;
    }
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

// The auth policy key: read by snm-policyd (its own user on a system
// install, where systemd starts it unprivileged) and Dovecot's config.
Result<std::string> auth_policy_key(const Config& config, StagedFiles& staged) {
    FileOwnership ownership{0600, {}, {}};
    if (::geteuid() == 0)
        if (const passwd* policyd = ::getpwnam(kPolicydUser)) ownership = FileOwnership{0600, policyd->pw_uid, policyd->pw_gid};
    return kept_secret(auth_policy_key_file(config), ownership, staged);
}

Result<FileOwnership> ownership_of(const RenderedFile& file) {
    FileOwnership ownership{file.mode, {}, {}};
    if (file.group.empty() || ::geteuid() != 0) return ownership;
    const group* owner = ::getgrnam(file.group.c_str());
    if (!owner)
        return Error{fmt::format("{} must be readable by group {}, which does not exist: is its package installed?",
                                 file.path, file.group)};
    ownership.uid = 0;
    ownership.gid = owner->gr_gid;
    return ownership;
}

// What the last apply wrote: path -> SHA-256.
std::map<std::string, std::string> read_manifest(const std::string& path) {
    std::map<std::string, std::string> written;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        const auto space = line.find("  ");
        if (space != std::string::npos) written[line.substr(space + 2)] = line.substr(0, space);
    }
    return written;
}

// A file about to be replaced that snm did not write (the distribution's,
// or an administrator's edit of snm's) is kept beside it.
Status keep_foreign_files(const RenderedFiles& rendered, const std::map<std::string, std::string>& written,
                          StagedFiles& staged, std::vector<std::string>& report) {
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", std::gmtime(&now));
    for (const auto& file : rendered) {
        if (!path_exists(file.path)) continue;
        auto content = read_file(file.path);
        if (!content) return content.error();
        if (*content == file.content) continue;
        const auto last = written.find(file.path);
        const bool ours = last != written.end() ? last->second == sha256_hex(*content)
                                                : content->substr(0, content->find('\n')).find(kRenderedMark) != std::string::npos;
        if (ours) continue;
        const std::string original = file.path + ".snm-orig";
        const std::string kept = path_exists(original) ? fmt::format("{}.snm-saved.{}", file.path, stamp) : original;
        struct stat st {};
        ::stat(file.path.c_str(), &st);
        if (auto s = staged.stage_content(kept, FileOwnership{static_cast<mode_t>(st.st_mode & 07777), st.st_uid, st.st_gid},
                                          *content);
            !s)
            return s;
        report.push_back(fmt::format("kept {} as {}: snm did not write it (the distribution's file, or edited since "
                                     "the last apply); snm.toml is the place for settings",
                                     file.path, kept));
    }
    return success();
}

// The mail user and group (SNM's virtualMail, vmailUID): made when missing,
// an error with the fix when a name or an id is taken otherwise.
using CommandLine = std::vector<std::string>;

Result<std::vector<CommandLine>> mail_user_actions(const Config& c) {
    const passwd* user = ::getpwnam(c.vmailUserName.c_str());
    const passwd* by_uid = ::getpwuid(c.vmailUID);
    const group* grp = ::getgrnam(c.vmailGroupName.c_str());
    const group* by_gid = ::getgrgid(c.vmailUID);
    const std::string fix = fmt::format("set vmailUID (and vmailUserName/vmailGroupName) in {} to the existing account", c.sourceFile);
    if (user && user->pw_uid != c.vmailUID)
        return Error{fmt::format("user {} has uid {}, not vmailUID {}: {}, or `usermod -u {} {}`", c.vmailUserName,
                                 user->pw_uid, c.vmailUID, fix, c.vmailUID, c.vmailUserName)};
    if (!user && by_uid)
        return Error{fmt::format("uid {} (vmailUID) belongs to user {}, not {}: {}", c.vmailUID, by_uid->pw_name,
                                 c.vmailUserName, fix)};
    if (grp && grp->gr_gid != c.vmailUID)
        return Error{fmt::format("group {} has gid {}, not vmailUID {}: {}, or `groupmod -g {} {}`", c.vmailGroupName,
                                 grp->gr_gid, c.vmailUID, fix, c.vmailUID, c.vmailGroupName)};
    if (!grp && by_gid)
        return Error{fmt::format("gid {} (vmailUID) belongs to group {}, not {}: {}", c.vmailUID, by_gid->gr_name,
                                 c.vmailGroupName, fix)};
    const std::string id = std::to_string(c.vmailUID);
    std::vector<CommandLine> commands;
    if (!grp) commands.push_back({"groupadd", "--system", "--gid", id, c.vmailGroupName});
    if (!user)
        commands.push_back({"useradd", "--system", "--uid", id, "--gid", id, "--home-dir", c.mailDirectory,
                            "--no-create-home", "--shell", "/usr/sbin/nologin", c.vmailUserName});
    return commands;
}

std::string shown(const CommandLine& command) { return fmt::format("{}", fmt::join(command, " ")); }

Status run_command_line(const CommandLine& command) {
    auto run = run_program(command, "install passwd");
    if (!run) return run.error();
    if (!run->succeeded) return Error{fmt::format("`{}` failed: {}", shown(command), run->output)};
    return success();
}

bool under(const std::string& path, const std::string& directory) { return path.starts_with(directory + "/"); }

}  // namespace

std::string rendered_manifest_file(const Config& config) { return config.stateDirectory + "/rendered.sha256"; }

Result<std::vector<std::string>> install(const Config& config, const Deployment& deployment, const InstallOptions& options) {
    std::vector<std::string> report;
    std::unique_ptr<StagedFiles> staged_storage;
    if (options.dry_run) {
        auto preview = StagedFiles::preview();
        if (!preview) return preview.error();
        staged_storage = std::move(*preview);
    } else {
        staged_storage = std::make_unique<StagedFiles>();
    }
    StagedFiles& staged = *staged_storage;
    // A preview creates no directory: what is missing is staged beside nothing.
    const auto make_parent = [&](const std::string& path) -> Status {
        return options.dry_run ? success() : make_directories(parent_directory(path), 0755);
    };
    if (auto made = make_parent(config.stateDirectory + "/"); !made) return made.error();

    if (auto s = stage_snapshots(config, default_snapshot_owners(), staged); !s) return s.error();
    auto keys = stage_missing_dkim_keys(config, staged);
    if (!keys) return keys.error();
    for (const auto& key : *keys)
        report.push_back(fmt::format("{} DKIM key {}; publish: {}", options.dry_run ? "would generate" : "generated",
                                     key.key_file, key.zone_record));

    auto certificate = prepare_certificate(config, deployment, CertificateRefresh::Missing, staged);
    if (!certificate) return certificate.error();
    report.push_back(certificate->report);

    auto password = controller_password(config, staged);
    if (!password) return password.error();
    auto policy_key = auth_policy_key(config, staged);
    if (!policy_key) return policy_key.error();

    RenderedFiles rendered = render_postfix(config, deployment);
    for (auto& file : render_dovecot(config, deployment, *policy_key)) rendered.push_back(std::move(file));
    for (auto& file : render_rspamd(config, deployment, *password)) rendered.push_back(std::move(file));
    if (deployment.sandbox)
        for (auto& file : render_sandbox_services(config, deployment)) rendered.push_back(std::move(file));
    auto sieve = prepare_sieve(config, deployment);
    if (!sieve) return sieve.error();
    for (auto& file : sieve->files) rendered.push_back(std::move(file));

    const std::string manifest_file = rendered_manifest_file(config);
    if (auto kept = keep_foreign_files(rendered, read_manifest(manifest_file), staged, report); !kept) return kept.error();
    std::string manifest;
    for (const auto& file : rendered) {
        if (auto made = make_parent(file.path); !made) return made.error();
        auto ownership = ownership_of(file);
        if (!ownership) return ownership.error();
        if (auto s = staged.stage_content(file.path, *ownership, file.content); !s) return s.error();
        manifest += fmt::format("{}  {}\n", sha256_hex(file.content), file.path);
    }
    if (auto s = staged.stage_content(manifest_file, FileOwnership{0644, {}, {}}, manifest); !s) return s.error();

    // The system's own accounts, last before the files: nothing else can fail now but a rename.
    std::vector<CommandLine> user_commands;
    if (deployment.root.empty() && !deployment.sandbox) {
        auto commands = mail_user_actions(config);
        if (!commands) return commands.error();
        user_commands = std::move(*commands);
    }

    if (options.dry_run) {
        for (const auto& command : user_commands) report.push_back("would run: " + shown(command));
        if (!path_exists(config.mailDirectory)) report.push_back("would create " + config.mailDirectory);
        auto changes = staged.changes();
        if (!changes) return changes.error();
        auto described = describe_changes(*changes);
        if (!described) return described.error();
        for (auto& block : *described) report.push_back(std::move(block));
        if (changes->empty() && user_commands.empty() && keys->empty())
            report.push_back(kNoChange);
        return report;
    }

    for (const auto& command : user_commands) {
        if (auto ran = run_command_line(command); !ran) return ran.error();
        report.push_back("ran: " + shown(command));
    }
    const auto made_users = [&](const Error& error) {
        if (user_commands.empty()) return error;
        std::vector<std::string> ran;
        for (const auto& command : user_commands) ran.push_back(shown(command));
        return Error{fmt::format("{}; the mail user was made ({}), apart from that", error.message, fmt::join(ran, "; "))};
    };
    if (auto s = prepare_mail_directory(config); !s) return made_users(s.error());
    auto committed = staged.commit();
    if (!committed) return made_users(committed.error());
    ServicesToReload reload;
    for (const auto& target : *committed) {
        report.push_back("installed " + target);
        reload.postfix |= under(target, deployment.postfix_dir);
        reload.dovecot |= under(target, deployment.dovecot_dir);
        reload.rspamd |= under(target, deployment.rspamd_dir);
    }
    if (committed->empty()) report.push_back(kNoChange);
    if (certificate->changed) reload.postfix = reload.dovecot = true;
    if (auto compiled = compile_installed_scripts(*sieve); !compiled) return compiled.error();
    report.push_back(fmt::format("compiled {} sieve scripts", sieve->to_compile.size()));
    if (options.reload)
        for (auto& line : reload_services(deployment, reload, "the new files")) report.push_back(std::move(line));
    return report;
}

}  // namespace snm::ctl
