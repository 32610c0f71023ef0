// snapshot_source.hpp — the current snapshot of one kind, switched when the
// file on disk is replaced.
//
// get() stats the file at most once a second (or at once after
// request_reload(), e.g. on SIGHUP); when its identity (device, inode, size,
// mtime) changed, it opens the new file and switches. Callers hold the
// shared_ptr for the length of one request, so a switch never pulls a
// snapshot from under a request in flight.
//
// When the new file is broken, the policy decides: KeepLast serves the old
// snapshot (a daemon must keep mail flowing); Fail answers nullptr until a
// good file appears (Dovecot's auth must not keep accepting a password the
// administrator removed). Either way the cause is reported once through the
// event callback, not on every lookup.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <cstring>
#include <cerrno>
#include <string>

#include "result.hpp"

namespace snm {

enum class OnBrokenSnapshot { KeepLast, Fail };

struct SnapshotEvent {
    bool error = false;   // false: a snapshot was (re)loaded
    std::string message;  // names the path and the cause
};

// View: a type with `static Result<std::shared_ptr<const View>> open(const std::string& path)`.
template <typename View>
class SnapshotSource {
public:
    using Clock = std::chrono::steady_clock;
    using EventHandler = std::function<void(const SnapshotEvent&)>;

    SnapshotSource(std::string path, OnBrokenSnapshot policy, EventHandler on_event = {})
        : path_(std::move(path)), policy_(policy), on_event_(std::move(on_event)) {}

    // The snapshot to answer this request with; nullptr when there is none
    // (see error()).
    std::shared_ptr<const View> get() {
        const auto now = Clock::now();
        std::lock_guard lock(mutex_);
        if (reload_requested_.exchange(false) || !checked_once_ || now - last_check_ >= kCheckInterval) {
            last_check_ = now;
            checked_once_ = true;
            refresh_locked();
        }
        return current_;
    }

    // Checks the file on the next get(), whatever the time (SIGHUP).
    // Async-signal-safe.
    void request_reload() { reload_requested_ = true; }

    // Why get() last failed or fell back to an old snapshot; empty if healthy.
    std::string error() const {
        std::lock_guard lock(mutex_);
        return error_;
    }

    const std::string& path() const { return path_; }

private:
    static constexpr auto kCheckInterval = std::chrono::seconds(1);

    struct Identity {
        dev_t device = 0;
        ino_t inode = 0;
        off_t size = 0;
        timespec mtime{};
        bool operator==(const Identity& o) const {
            return device == o.device && inode == o.inode && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
                   mtime.tv_nsec == o.mtime.tv_nsec;
        }
    };

    void refresh_locked() {
        struct stat st {};
        if (::stat(path_.c_str(), &st) != 0) {
            fail_locked(Error{"snapshot " + path_ + " is missing: " + std::string(std::strerror(errno)) +
                              " (run `snmctl apply`)"});
            loaded_identity_.reset();
            return;
        }
        const Identity identity{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
        if (loaded_identity_ && *loaded_identity_ == identity) return;      // unchanged and loaded
        if (failed_identity_ && *failed_identity_ == identity) return;      // unchanged and known bad
        auto opened = View::open(path_);
        if (!opened) {
            failed_identity_ = identity;
            fail_locked(opened.error());
            return;
        }
        current_ = std::move(opened.value());
        loaded_identity_ = identity;
        failed_identity_.reset();
        error_.clear();
        if (on_event_) on_event_({false, "loaded snapshot " + path_});
    }

    void fail_locked(const Error& error) {
        const bool new_error = error.message != error_;
        error_ = error.message;
        if (policy_ == OnBrokenSnapshot::Fail) current_.reset();
        if (new_error && on_event_)
            on_event_({true, policy_ == OnBrokenSnapshot::KeepLast && current_
                                 ? error.message + "; still using the previous snapshot"
                                 : error.message});
    }

    const std::string path_;
    const OnBrokenSnapshot policy_;
    const EventHandler on_event_;
    mutable std::mutex mutex_;
    std::shared_ptr<const View> current_;
    std::optional<Identity> loaded_identity_;
    std::optional<Identity> failed_identity_;
    std::string error_;
    Clock::time_point last_check_{};
    bool checked_once_ = false;
    std::atomic<bool> reload_requested_{false};
};

}  // namespace snm
