// cert.cpp — `snmctl cert renew|status -c FILE [--root DIR | --sandbox DIR]
// [--force]`: the TLS certificate Postfix and Dovecot present.
//
// renew makes, obtains or copies a new pair when the deployed one expires
// within 30 days (always with --force), installs it atomically and reloads
// Postfix and Dovecot; a failure leaves the old pair in service and exits
// 1. status shows the deployed certificate's subject, names, issuer and
// expiry. The systemd timer snm-cert-renew.timer runs renew twice a day.
#include <fmt/format.h>

#include <cstdio>

#include "certificates.hpp"
#include "command_config.hpp"
#include "commands.hpp"
#include "deployment.hpp"
#include "sandbox.hpp"
#include "service_reload.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

namespace {

struct Target {
    Config config;
    Deployment deployment;
};

// The configuration and deployment of --sandbox DIR, or of the system under --root.
std::optional<Target> target_of(const OptionParser& options, int& exit_status) {
    if (auto dir = options.value("--sandbox")) {
        const std::string root = absolute_directory(*dir);
        auto deployment = running_sandbox_deployment(root);
        if (!deployment) {
            fmt::print(stderr, "snmctl cert: no sandbox in {} (run `snmctl sandbox up` first)\n", root);
            exit_status = kExitFailure;
            return std::nullopt;
        }
        auto loaded = sandbox_config(options, root);
        exit_status = loaded.exit_status;
        if (!loaded.config) return std::nullopt;
        return Target{std::move(*loaded.config), std::move(*deployment)};
    }
    auto loaded = load_for_command(options, PostfixCheck::Skip);
    exit_status = loaded.exit_status;
    if (!loaded.config) return std::nullopt;
    const std::string root = options.value("--root").value_or("/");
    return Target{rooted_at(std::move(*loaded.config), root), system_deployment(root)};
}

int renew(const OptionParser& options, const Target& target) {
    StagedFiles staged;
    const auto refresh = options.flag("--force") ? CertificateRefresh::Always : CertificateRefresh::Due;
    auto change = prepare_certificate(target.config, target.deployment, refresh, staged);
    if (change) {
        if (auto committed = staged.commit(); !committed) change = committed.error();
    }
    if (!change) {
        fmt::print(stderr, "snmctl cert renew: {}\nthe certificate in service is unchanged: {}\n", change.error().message,
                   tls_paths(target.config).certificate);
        return kExitFailure;
    }
    fmt::print("{}\n", change->report);
    if (change->changed)
        for (const auto& line : reload_services(target.deployment, {.postfix = true, .dovecot = true}, "the new certificate")) fmt::print("{}\n", line);
    return kExitOk;
}

int status(const Target& target) {
    const std::string path = tls_paths(target.config).certificate;
    auto summary = summarize_certificate(path);
    if (!summary) {
        fmt::print(stderr, "snmctl cert status: {}\n", summary.error().message);
        return kExitFailure;
    }
    fmt::print("scheme     {}\nfile       {}\nsubject    {}\nnames      {}\nissuer     {}\nserial     {}\n"
               "expires    {} ({})\n",
               to_string(target.config.certificateScheme), path, summary->subject, fmt::join(summary->names, ", "),
               summary->issuer, summary->serial, summary->not_after,
               summary->seconds_left > 0 ? fmt::format("{} days left", summary->seconds_left / 86400) : "EXPIRED");
    return summary->seconds_left > 0 ? kExitOk : kExitFailure;
}

}  // namespace

int run_cert(const Arguments& args) {
    OptionParser options({.name = "snmctl cert",
                          .usage = "usage: snmctl cert renew -c FILE [--root DIR | --sandbox DIR] [--force]\n"
                                   "       snmctl cert status -c FILE [--root DIR | --sandbox DIR]\n",
                          .valued = {{"--config", "-c"}, {"--root"}, {"--sandbox"}},
                          .flags = {{"--force"}},
                          .max_positionals = 1});
    if (auto status = options.parse(args)) return *status;
    const std::string action = options.positionals().empty() ? "" : options.positionals().front();
    if (action != "renew" && action != "status")
        return options.usage_error(action.empty() ? "expected `renew` or `status`"
                                                  : fmt::format("expected `renew` or `status`, not `{}`", action));
    if (options.value("--root") && options.value("--sandbox"))
        return options.usage_error("--root and --sandbox exclude each other");
    if (action == "status" && options.flag("--force")) return options.usage_error("--force is for `renew`");
    int exit_status = kExitOk;
    const auto target = target_of(options, exit_status);
    if (!target) return exit_status;
    return action == "renew" ? renew(options, *target) : status(*target);
}

}  // namespace snm::ctl
