// authdb_snm.cpp — libauthdb_snm.so: Dovecot 2.3's passdb and userdb driver
// `snm`, served from the accounts snapshot `snmctl apply` writes.
//
//   passdb {
//     driver = snm
//     args = [blocking=yes|no] /var/lib/snm/accounts.cdb
//   }
//   userdb {
//     driver = snm
//     args = [blocking=yes|no] /var/lib/snm/accounts.cdb
//   }
//
// Dovecot loads the module from its auth module directory when a driver
// named `snm` is first used, calls authdb_snm_init(), and refuses the module
// cleanly when authdb_snm_version is not its own ABI version.
//
// passdb: hands Dovecot the stored "{SCHEME}hash", so Dovecot verifies every
// scheme it knows (SHA512-CRYPT, BLF-CRYPT, ARGON2ID, ...), and sets it as
// the "password" field so auth_cache can hold it. blocking defaults to yes:
// hashes are then verified in the auth-worker processes, in parallel.
// userdb: home, mail, uid, gid, quota_rule, sieve as the snapshot holds
// them; iteration for `doveadm user '*'` and `doveadm -A`. blocking
// defaults to no (a lookup is a hash probe of a few microseconds, and the
// round trip to a worker costs more than it saves).
//
// Reload and faults are accounts_db.hpp's policy: a replaced snapshot is
// used within a second, a broken one answers every request with an internal
// failure (the client sees a temporary failure) and the auth process logs
// one line naming the path and cause. It also checks the file every second and
// clears Dovecot's auth cache when the snapshot changed, so a removed
// password stops working even with auth_cache on. Only a bad `args` string
// is fatal, at start, as with Dovecot's own drivers.
//
// This is the only file that touches Dovecot's API. No C++ exception
// crosses into Dovecot: the logic's entry points are noexcept.

extern "C" {
#include "auth-common.h"
#include "ioloop.h"
#include "passdb-cache.h"
#include "passdb.h"
#include "password-scheme.h"
#include "userdb.h"
}

#include <memory>
#include <string>

#include "accounts_db.hpp"
#include "authdb_args.hpp"

namespace {

using snm::dovecot::AccountsDb;
using snm::dovecot::Lookup;

// How often the auth process checks the snapshot for the cache's sake.
constexpr unsigned kCacheCheckMsecs = 1000;
// Both caches key on the login name; the snapshot answers any case alike.
constexpr const char* kCacheKey = "%u";
// For a stored hash without a {SCHEME} prefix (snmctl always writes one).
constexpr const char* kDefaultScheme = "CRYPT";

// What a passdb or userdb instance owns beside Dovecot's module struct.
struct AuthdbState {
    std::shared_ptr<AccountsDb> accounts;  // shared by instances on one path
    struct timeout* cache_check = nullptr;
};

// Dovecot's module struct first, so Dovecot's pointer converts back.
struct SnmPassdbModule {
    struct passdb_module module;
    AuthdbState* state;  // owned: made in preinit, destroyed in deinit
};
struct SnmUserdbModule {
    struct userdb_module module;
    AuthdbState* state;  // owned: made in preinit, destroyed in deinit
};
struct SnmUserdbIterate {
    struct userdb_iterate_context ctx;
    snm::dovecot::UserCursor* users;  // owned; null when no snapshot is usable
};
static_assert(std::is_standard_layout_v<SnmPassdbModule> && std::is_standard_layout_v<SnmUserdbModule> &&
              std::is_standard_layout_v<SnmUserdbIterate>);

// Snapshot events are logged by the auth process, which checks the file
// every second whatever the traffic: one line per event, not one per
// process. Auth-worker processes see the same file; they log only with
// auth_debug.
void log_snapshot_event(bool error, const std::string& message) {
    if (!worker) {
        if (error)
            i_error("%s", message.c_str());
        else
            i_info("%s", message.c_str());
    } else if (global_auth_settings->debug) {
        i_debug("%s", message.c_str());
    }
}

// Parses args (a bad string stops Dovecot here, naming the setting) and
// makes the state, handed to Dovecot's module struct as an owning pointer.
AuthdbState* make_state(const char* kind, const char* args, bool default_blocking, bool& blocking) noexcept {
    try {
        auto parsed = snm::dovecot::parse_authdb_args(args, kind, default_blocking);
        if (!parsed) i_fatal("%s", parsed.error().message.c_str());
        blocking = parsed->blocking;
        auto state = std::make_unique<AuthdbState>();
        state->accounts = AccountsDb::shared(parsed->snapshot_path, log_snapshot_event);
        return state.release();
    } catch (const std::exception& e) {
        i_fatal("%s snm: %s", kind, e.what());
    }
}

// Runs in the auth process: a changed snapshot invalidates what the auth
// cache remembers of the old one.
void check_snapshot_for_cache(AuthdbState* state) {
    if (state->accounts->refresh() && passdb_cache != nullptr) {
        auth_cache_clear(passdb_cache);
        i_info("snm: %s changed: auth cache cleared", state->accounts->snapshot_path().c_str());
    }
}

void start_state(AuthdbState* state) {
    state->accounts->refresh();  // logs at start whether the snapshot is usable
    if (!worker)
        state->cache_check = (timeout_add)(kCacheCheckMsecs, __FILE__, __LINE__,
                                           reinterpret_cast<timeout_callback_t*>(check_snapshot_for_cache), state);
}

void destroy_state(AuthdbState*& state) {
    std::unique_ptr<AuthdbState> owned(state);
    state = nullptr;
    if (owned && owned->cache_check != nullptr) timeout_remove(&owned->cache_check);
}

// ---- passdb ----

AuthdbState& passdb_state(struct auth_request* request) {
    return *reinterpret_cast<SnmPassdbModule*>(request->passdb->passdb)->state;
}

// Looks the user's hash up. On success returns true with the bare hash and
// its scheme, saved in the request for the cache; otherwise the result.
bool lookup_password(struct auth_request* request, const char** hash_r, const char** scheme_r,
                     enum passdb_result* failure_r) {
    const auto found = passdb_state(request).accounts->password(request->fields.user);
    if (found.status != Lookup::Found) {
        *failure_r = found.status == Lookup::UnknownUser ? PASSDB_RESULT_USER_UNKNOWN
                                                         : PASSDB_RESULT_INTERNAL_FAILURE;
        return false;
    }
    const char* hash = p_strndup(request->pool, found.value.data(), found.value.size());
    const char* scheme = password_get_scheme(&hash);
    if (scheme == nullptr) scheme = request->passdb->passdb->default_pass_scheme;
    auth_request_set_field(request, "password", hash, scheme);
    *hash_r = hash;
    *scheme_r = scheme;
    return true;
}

void snm_passdb_verify_plain(struct auth_request* request, const char* password,
                             verify_plain_callback_t* callback) {
    const char *hash, *scheme;
    enum passdb_result failure;
    if (!lookup_password(request, &hash, &scheme, &failure)) {
        callback(failure, request);
        return;
    }
    const int verified = auth_request_password_verify(request, password, hash, scheme, AUTH_SUBSYS_DB);
    callback(verified > 0 ? PASSDB_RESULT_OK : PASSDB_RESULT_PASSWORD_MISMATCH, request);
}

void snm_passdb_lookup_credentials(struct auth_request* request, lookup_credentials_callback_t* callback) {
    const char *hash, *scheme;
    enum passdb_result failure;
    if (!lookup_password(request, &hash, &scheme, &failure)) {
        callback(failure, nullptr, 0, request);
        return;
    }
    passdb_handle_credentials(PASSDB_RESULT_OK, hash, scheme, callback, request);
}

struct passdb_module* snm_passdb_preinit(pool_t pool, const char* args) {
    auto* module = p_new(pool, SnmPassdbModule, 1);
    module->state = make_state("passdb", args, true, module->module.blocking);
    module->module.default_cache_key = kCacheKey;
    module->module.default_pass_scheme = kDefaultScheme;
    return &module->module;
}

void snm_passdb_init(struct passdb_module* module) {
    start_state(reinterpret_cast<SnmPassdbModule*>(module)->state);
}

void snm_passdb_deinit(struct passdb_module* module) {
    destroy_state(reinterpret_cast<SnmPassdbModule*>(module)->state);
}

struct passdb_module_interface snm_passdb = {
    .name = "snm",
    .preinit = snm_passdb_preinit,
    .init = snm_passdb_init,
    .deinit = snm_passdb_deinit,
    .verify_plain = snm_passdb_verify_plain,
    .lookup_credentials = snm_passdb_lookup_credentials,
    .set_credentials = nullptr,
};

// ---- userdb ----

AuthdbState& userdb_state(struct auth_request* request) {
    return *reinterpret_cast<SnmUserdbModule*>(request->userdb->userdb)->state;
}

void snm_userdb_lookup(struct auth_request* request, userdb_callback_t* callback) {
    const auto found = userdb_state(request).accounts->userdb_fields(request->fields.user);
    if (found.status != Lookup::Found) {
        callback(found.status == Lookup::UnknownUser ? USERDB_RESULT_USER_UNKNOWN : USERDB_RESULT_INTERNAL_FAILURE,
                 request);
        return;
    }
    T_BEGIN {
        snm::dovecot::for_each_userdb_field(found.value, [&](std::string_view key, std::string_view value) {
            auth_request_set_userdb_field(request, t_strndup(key.data(), key.size()),
                                          t_strndup(value.data(), value.size()));
        });
    } T_END;
    callback(USERDB_RESULT_OK, request);
}

struct userdb_iterate_context* snm_userdb_iterate_init(struct auth_request* request,
                                                        userdb_iter_callback_t* callback, void* context) {
    auto* iterate = i_new(SnmUserdbIterate, 1);
    iterate->ctx.auth_request = request;
    iterate->ctx.callback = callback;
    iterate->ctx.context = context;
    try {
        if (auto users = userdb_state(request).accounts->users())
            iterate->users = std::make_unique<snm::dovecot::UserCursor>(std::move(*users)).release();
    } catch (const std::bad_alloc&) {
        // reported as a failed iteration below
    }
    iterate->ctx.failed = iterate->users == nullptr;
    return &iterate->ctx;
}

void snm_userdb_iterate_next(struct userdb_iterate_context* ctx) {
    auto* iterate = reinterpret_cast<SnmUserdbIterate*>(ctx);
    const auto user = iterate->users != nullptr ? iterate->users->next() : std::nullopt;
    if (!user) {
        if (iterate->users != nullptr && iterate->users->failed()) ctx->failed = TRUE;
        ctx->callback(nullptr, ctx->context);
        return;
    }
    ctx->callback(user->c_str(), ctx->context);
}

int snm_userdb_iterate_deinit(struct userdb_iterate_context* ctx) {
    auto* iterate = reinterpret_cast<SnmUserdbIterate*>(ctx);
    const int ret = ctx->failed ? -1 : 0;
    std::unique_ptr<snm::dovecot::UserCursor> users(iterate->users);
    i_free(iterate);
    return ret;
}

struct userdb_module* snm_userdb_preinit(pool_t pool, const char* args) {
    auto* module = p_new(pool, SnmUserdbModule, 1);
    module->state = make_state("userdb", args, false, module->module.blocking);
    module->module.default_cache_key = kCacheKey;
    return &module->module;
}

void snm_userdb_init(struct userdb_module* module) {
    start_state(reinterpret_cast<SnmUserdbModule*>(module)->state);
}

void snm_userdb_deinit(struct userdb_module* module) {
    destroy_state(reinterpret_cast<SnmUserdbModule*>(module)->state);
}

struct userdb_module_interface snm_userdb = {
    .name = "snm",
    .preinit = snm_userdb_preinit,
    .init = snm_userdb_init,
    .deinit = snm_userdb_deinit,
    .lookup = snm_userdb_lookup,
    .iterate_init = snm_userdb_iterate_init,
    .iterate_next = snm_userdb_iterate_next,
    .iterate_deinit = snm_userdb_iterate_deinit,
};

}  // namespace

// The module's entry points, found by name (module "authdb_snm").
extern "C" {

__attribute__((visibility("default"))) extern const char* authdb_snm_version;
const char* authdb_snm_version = DOVECOT_ABI_VERSION;

__attribute__((visibility("default"))) void authdb_snm_init(void);
__attribute__((visibility("default"))) void authdb_snm_deinit(void);

void authdb_snm_init(void) {
    passdb_register_module(&snm_passdb);
    userdb_register_module(&snm_userdb);
}

void authdb_snm_deinit(void) {
    passdb_unregister_module(&snm_passdb);
    userdb_unregister_module(&snm_userdb);
}

}  // extern "C"
