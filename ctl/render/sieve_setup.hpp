// sieve_setup.hpp — the sieve part of an install: Pigeonhole's settings for
// snm (rendered from sieve/scripts/dovecot-sieve.conf.in, the same file the
// sieve tests use), the global scripts (spam into Junk; spam/ham learning on
// IMAP moves), and each account's `sieveScript`, all precompiled with
// sievec so Dovecot never has to write a .svbin at delivery.
//
// Every script is compiled in a scratch directory before anything is
// staged: a script that does not compile is an error naming the account and
// sievec's message, and nothing is applied. After the files are in place
// they are compiled there once more (same input, same result).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "deployment.hpp"
#include "rendered_file.hpp"
#include "result.hpp"
#include "staged_files.hpp"

namespace snm::ctl {

// sievec with snm's sieve settings and plugins, in a scratch directory
// (sieve_setup.cpp).
class ScratchCompiler;

struct SieveFiles {
    RenderedFiles files;                 // settings, scripts
    std::vector<std::string> to_compile; // installed script paths, compiled after commit
    std::shared_ptr<const ScratchCompiler> compiler;  // the one that checked them
};

// Renders the settings and scripts and checks that every script compiles.
Result<SieveFiles> prepare_sieve(const Config& config, const Deployment& deployment);

// Compiles the installed scripts in place (after StagedFiles::commit), with
// the compiler that checked them.
Status compile_installed_scripts(const SieveFiles& sieve);

// Where the global scripts are installed.
std::string global_sieve_dir(const Config& config);

// Makes `directory` hold Pigeonhole's own plugins and `plugin` (snm's), as
// links: Pigeonhole loads every sieve_plugins entry from one directory.
Status link_sieve_plugins(const std::string& directory, const std::string& plugin);

}  // namespace snm::ctl
