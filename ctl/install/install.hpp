// install.hpp — what `snmctl apply` does once the configuration is valid:
// compile the snapshots, make keys and certificates, render the stock
// Postfix, Dovecot and rspamd configuration, and put it all in place
// together; then tell the running servers whose files changed. Shared by
// `snmctl apply` and `snmctl sandbox up`.
//
// On a system install (deployment.root empty) it also makes the mail user
// (vmailUserName, uid and gid vmailUID) when missing, and keeps a file it
// replaces but did not write (the distribution's main.cf, or one edited
// since) beside it: FILE.snm-orig the first time, FILE.snm-saved.TIME after.
// What it wrote is listed with its SHA-256 in <stateDirectory>/rendered.sha256
// (`sha256sum -c` checks it).
#pragma once

#include <string>
#include <vector>

#include "config.hpp"
#include "deployment.hpp"
#include "result.hpp"

namespace snm::ctl {

struct InstallOptions {
    bool dry_run = false;  // report what would change (diffs, snapshot records); write nothing
    bool reload = true;    // tell the running servers whose configuration changed
};

// `config` must already be rooted at deployment.root (rooted_at). All or
// nothing: on error, no file has changed (a mail user made is said so in
// the error). Returns what was done, one line or block per action.
Result<std::vector<std::string>> install(const Config& config, const Deployment& deployment,
                                         const InstallOptions& options = {});

// Where the list of rendered files and their SHA-256 is kept.
std::string rendered_manifest_file(const Config& config);

}  // namespace snm::ctl
