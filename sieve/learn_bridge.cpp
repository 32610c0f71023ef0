// learn_bridge.cpp — the C functions of learn_bridge.h, on top of
// controller_client.hpp. Catches everything: no exception may unwind into
// Dovecot's C code.
#include "learn_bridge.h"

#include <fmt/format.h>

#include <exception>
#include <memory>
#include <string>

#include "controller_client.hpp"

static_assert(SNM_LEARN_MAX_MESSAGE_BYTES == snm::sieve::kMaxMessageBytes);

struct snm_learner {
    snm::sieve::ControllerSettings settings;
    std::string password_file;
};

namespace {

void copy_message(std::string_view text, char out[SNM_LEARN_MESSAGE_SIZE]) {
    const auto result = fmt::format_to_n(out, SNM_LEARN_MESSAGE_SIZE - 1, "{}", text);
    *result.out = '\0';
}

std::string_view or_empty(const char* text) { return text == nullptr ? std::string_view{} : std::string_view(text); }

}  // namespace

extern "C" snm_learner* snm_learner_new(const char* controller, const char* password_file, const char* timeout,
                                        char error[SNM_LEARN_MESSAGE_SIZE]) {
    try {
        if (controller == nullptr || *controller == '\0') {
            copy_message("no rspamd controller configured (set it to unix:PATH or inet:HOST:PORT)", error);
            return nullptr;
        }
        auto settings = snm::sieve::make_controller_settings(controller, "", or_empty(timeout));
        if (!settings) {
            copy_message(settings.error().message, error);
            return nullptr;
        }
        auto learner = std::make_unique<snm_learner>();
        learner->settings = std::move(*settings);
        learner->password_file = std::string(or_empty(password_file));
        return learner.release();
    } catch (const std::exception& e) {
        copy_message(e.what(), error);
        return nullptr;
    }
}

extern "C" void snm_learner_free(snm_learner** learner) {
    delete *learner;
    *learner = nullptr;
}

extern "C" const char* snm_learner_controller(const snm_learner* learner) {
    return learner->settings.controller.text.c_str();
}

extern "C" snm_learn_status snm_learner_learn(const snm_learner* learner, int is_spam, const void* message,
                                              size_t size, const char* user, char detail[SNM_LEARN_MESSAGE_SIZE]) {
    try {
        auto password = snm::sieve::read_password_file(learner->password_file);
        if (!password) {
            copy_message(password.error().message, detail);
            return SNM_LEARN_FAILED;
        }
        auto settings = learner->settings;
        settings.password = std::move(*password);
        const auto outcome = snm::sieve::learn_message(
            settings, is_spam ? snm::sieve::MessageClass::Spam : snm::sieve::MessageClass::Ham,
            std::string_view(static_cast<const char*>(message), size), or_empty(user));
        if (!outcome) {
            copy_message(outcome.error().message, detail);
            return SNM_LEARN_FAILED;
        }
        return *outcome == snm::sieve::LearnOutcome::Learned ? SNM_LEARN_LEARNED : SNM_LEARN_ALREADY_LEARNED;
    } catch (const std::exception& e) {
        copy_message(e.what(), detail);
        return SNM_LEARN_FAILED;
    }
}
