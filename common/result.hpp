// result.hpp — errors as values.
//
// Result<T> holds either a T or an Error whose message a person can act on
// ("what is wrong, where, and what to do"). Used at every module boundary in
// snm instead of exceptions; g++ 12 in C++20 mode has no std::expected.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace snm {

// A failure: the message names the object at fault (a path, a key, an
// address) and, where there is one, the fix.
struct Error {
    std::string message;
    // A failure that may pass by itself (I/O, a snapshot being replaced, a
    // peer down or slow) rather than bad data. Read where the caller's
    // answer depends on it: snm-spam-learn exits EX_TEMPFAIL so the learning
    // is retried. The daemons need not read it: every failure of theirs
    // already makes mail wait (DESIGN.md, Fault policy).
    bool temporary = false;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::move(value)) {}
    Result(Error error) : state_(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(state_); }
    explicit operator bool() const { return ok(); }

    T& value() & { assert(ok()); return std::get<T>(state_); }
    const T& value() const& { assert(ok()); return std::get<T>(state_); }
    T&& value() && { assert(ok()); return std::get<T>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { assert(!ok()); return std::get<Error>(state_); }

private:
    std::variant<T, Error> state_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;
inline Status success() { return Ok{}; }

}  // namespace snm
