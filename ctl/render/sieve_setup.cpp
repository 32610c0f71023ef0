// sieve_setup.cpp — see sieve_setup.hpp.
#include "sieve_setup.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "program_paths.hpp"
#include "render_rspamd.hpp"
#include "run_program.hpp"
#include "snapshot_compiler.hpp"

namespace snm::ctl {

namespace {

namespace fs = std::filesystem;

constexpr const char* kSettingsTemplate = "dovecot-sieve.conf.in";
// Pigeonhole's own plugins (sieve_imapsieve, …).
constexpr const char* kStockSievePluginDir = "/usr/lib/dovecot/modules/sieve";
constexpr const char* kGlobalScripts[] = {"spam-to-junk.sieve", "learn-spam.sieve", "learn-ham.sieve"};
// sievec's output is quoted in errors; bound it.
constexpr std::size_t kMaxCompilerOutput = 4096;

std::string junk_mailbox(const Config& config) {
    for (const auto& mailbox : config.mailboxes)
        if (mailbox.specialUse == "Junk") return mailbox.name;
    return "Junk";  // the loader guarantees one; never reached
}

// Pigeonhole's settings for snm: the template with its placeholders filled,
// loading the plugins from `plugin_dir`.
Result<std::string> render_settings(const Config& c, const Deployment& d, const std::string& settings_template,
                                    const std::string& plugin_dir) {
    const std::pair<const char*, std::string> values[] = {
        {"@SIEVE_PLUGIN_DIR@", plugin_dir},
        {"@SIEVE_SCRIPT_DIR@", global_sieve_dir(c)},
        {"@JUNK_MAILBOX@", junk_mailbox(c)},
        {"@LEARN_CONTROLLER@", "unix:" + d.rspamd_controller_socket()},
        {"@LEARN_PASSWORD_FILE@", controller_password_file(c)},
    };
    std::string out = settings_template;
    for (const auto& [name, value] : values)
        for (auto at = out.find(name); at != std::string::npos; at = out.find(name, at + value.size()))
            out.replace(at, std::string_view(name).size(), value);
    if (auto left = out.find("@SIEVE"); left != std::string::npos)
        return Error{fmt::format("{}: a placeholder was not rendered near `{}`", kSettingsTemplate, out.substr(left, 30))};
    return rendered_header("Pigeonhole (sieve) settings", c.sourceFile) + out;
}

// Runs `sievec -c CONF SCRIPT`; on failure, its output.
Status sievec(const std::string& config, const std::string& script) {
    auto run = run_program({"sievec", "-c", config, script}, "install dovecot-sieve");
    if (!run) return run.error();
    if (run->succeeded) return success();
    std::string output = run->output.substr(0, kMaxCompilerOutput);
    while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
    return Error{output.empty() ? "sievec failed" : output};
}

struct Script {
    std::string installed;  // final path
    std::string text;
    std::string what;       // "the global script X" or "the sieveScript of A", for errors
};

}  // namespace

// A scratch directory for sievec: a minimal Dovecot configuration (the
// sieve settings only) and a plugin directory linking Pigeonhole's plugins
// beside snm's (from the build tree or the installed one), so scripts
// compile wherever the runtime configuration will load the plugin from.
class ScratchCompiler {
public:
    static Result<std::shared_ptr<const ScratchCompiler>> create(const Config& c, const Deployment& d,
                                                                  const std::string& settings_template) {
        auto plugin = find_program(ProgramKind::SievePlugin);
        if (!plugin) return plugin.error();
        char pattern[] = "/tmp/snmctl-sieve-XXXXXX";
        if (!::mkdtemp(pattern)) return Error{fmt::format("cannot create a scratch directory: {}", std::strerror(errno))};
        std::shared_ptr<ScratchCompiler> compiler(new ScratchCompiler(pattern));
        const fs::path plugins = compiler->directory_ / "plugins";
        if (auto linked = link_sieve_plugins(plugins.string(), *plugin); !linked) return linked.error();
        auto settings = render_settings(c, d, settings_template, plugins.string());
        if (!settings) return settings.error();
        compiler->config_ = (compiler->directory_ / "dovecot.conf").string();
        std::ofstream out(compiler->config_);
        out << "# scratch configuration for sievec, written by snmctl\n" << *settings;
        if (!out) return Error{fmt::format("cannot write {}", compiler->config_)};
        return std::shared_ptr<const ScratchCompiler>(std::move(compiler));
    }
    ScratchCompiler(const ScratchCompiler&) = delete;
    ScratchCompiler& operator=(const ScratchCompiler&) = delete;
    ~ScratchCompiler() {
        std::error_code ignored;
        if (!directory_.empty()) fs::remove_all(directory_, ignored);
    }
    Status compile(const std::string& script) const { return sievec(config_, script); }
    const fs::path& directory() const { return directory_; }

private:
    explicit ScratchCompiler(fs::path directory) : directory_(std::move(directory)) {}
    fs::path directory_;
    std::string config_;
};

std::string global_sieve_dir(const Config& config) { return config.stateDirectory + "/sieve/global"; }

Status link_sieve_plugins(const std::string& directory, const std::string& plugin) {
    const fs::path target = directory;
    std::error_code ec;
    fs::create_directories(target, ec);
    for (const auto& entry : fs::directory_iterator(kStockSievePluginDir, ec)) {
        fs::remove(target / entry.path().filename(), ec);
        fs::create_symlink(entry.path(), target / entry.path().filename(), ec);
    }
    fs::remove(target / fs::path(plugin).filename(), ec);
    fs::create_symlink(plugin, target / fs::path(plugin).filename(), ec);
    if (ec) return Error{fmt::format("cannot link sieve plugins into {}: {}", directory, ec.message())};
    return success();
}

Result<SieveFiles> prepare_sieve(const Config& c, const Deployment& d) {
    auto scripts_dir = find_sieve_scripts_dir();
    if (!scripts_dir) return scripts_dir.error();
    auto settings_template = read_file((fs::path(*scripts_dir) / kSettingsTemplate).string());
    if (!settings_template) return settings_template.error();
    auto settings = render_settings(c, d, *settings_template, d.sieve_plugin_dir);
    if (!settings) return settings.error();

    std::vector<Script> scripts;
    for (const char* name : kGlobalScripts) {
        auto text = read_file((fs::path(*scripts_dir) / name).string());
        if (!text) return text.error();
        scripts.push_back({global_sieve_dir(c) + "/" + name, *text, fmt::format("the global script {}", name)});
    }
    for (const auto& account : c.loginAccounts)
        if (account.sieveScript)
            scripts.push_back({sieve_script_path(c, account), *account.sieveScript,
                               fmt::format("the sieveScript of login account {}", account.address)});

    // Compile every script in a scratch directory first.
    auto compiler = ScratchCompiler::create(c, d, *settings_template);
    if (!compiler) return compiler.error();
    for (std::size_t i = 0; i < scripts.size(); ++i) {
        const auto path = ((*compiler)->directory() / fmt::format("script{}.sieve", i)).string();
        std::ofstream(path) << scripts[i].text;
        if (auto compiled = (*compiler)->compile(path); !compiled)
            return Error{fmt::format("{} does not compile: {}", scripts[i].what, compiled.error().message)};
    }

    SieveFiles out;
    out.compiler = *compiler;
    out.files.push_back({d.dovecot_dir + "/sieve.conf", *settings, 0644});
    for (const auto& script : scripts) {
        out.files.push_back({script.installed, script.text, 0644});
        out.to_compile.push_back(script.installed);
    }
    return out;
}

Status compile_installed_scripts(const SieveFiles& sieve) {
    for (const auto& script : sieve.to_compile)
        if (auto compiled = sieve.compiler->compile(script); !compiled)
            return Error{fmt::format("compiling {} failed: {}", script, compiled.error().message)};
    return success();
}

}  // namespace snm::ctl
