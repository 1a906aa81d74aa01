#pragma once
// The one way a fallible call reports failure in hearsay: it returns result<T> (result<> when
// there is no value), which holds either the value or a `failure`.
//
//   result<graph> build_graph(...);          // a value or why not
//   result<> save_peers() const;             // nothing, or why not
//
//   auto g = build_graph(spec, n, random);
//   if (!g) return g.error();                // a failure converts to any result<U>
//   use(*g);
//
// A failure carries an std::error_code when the cause is the system's (I/O, sockets: the code
// lets a caller tell "no such file" from "disk full") and always a message for a person
// ("hearsay.toml:12: overlay.ttl: expected 1..64"). The class is [[nodiscard]], so every
// function returning it is, and the build turns a dropped result into an error
// (-Werror=unused-result): an ignored failure does not compile. Where a caller really means to
// ignore one it says so with `.ignore()`, which reads as a decision.
//
// Why not std::expected: it is C++23 and our compiler's library runs C++20; Debian 12's
// tl::expected (libexpected-dev) is not marked [[nodiscard]] as a type, which is the point here.
// This header is small on purpose: no monadic chain, no exceptions, no allocation on success.

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "overlay/assert.hpp"

namespace hearsay {

class failure {
 public:
  failure() = default;
  // A failure that is only a message (config, usage, a peer's malformed input).
  explicit failure(std::string message) : message_(std::move(message)) {}
  // A system error, with what was being done: failure(ec, "open /var/lib/hearsay/peers").
  explicit failure(std::error_code code, std::string context = {})
      : code_(code), message_(std::move(context)) {}

  std::error_code code() const { return code_; }
  // The context or message as given.
  const std::string& message() const { return message_; }
  // For a person: "context: system message", or the message alone.
  std::string what() const {
    if (!code_) return message_;
    if (message_.empty()) return code_.message();
    return message_ + ": " + code_.message();
  }
  // Adds what the caller was doing: "settings: " + "line 3: ...".
  failure& prefix(const std::string& context) {
    message_ = message_.empty() ? context : context + ": " + message_;
    return *this;
  }

 private:
  std::error_code code_;
  std::string message_;
};

template <class T = void>
class [[nodiscard]] result {
 public:
  using value_type = T;

  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  result(failure f) : v_(std::in_place_index<1>, std::move(f)) {}    // NOLINT: implicit by design
  template <class U, class = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                              !std::is_same_v<std::decay_t<U>, failure> &&
                                              !std::is_same_v<std::decay_t<U>, result>>>
  result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { HEARSAY_ASSERT(ok()); return *std::get_if<0>(&v_); }
  const T& value() const& { HEARSAY_ASSERT(ok()); return *std::get_if<0>(&v_); }
  T&& value() && { HEARSAY_ASSERT(ok()); return std::move(*std::get_if<0>(&v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const failure& error() const { HEARSAY_ASSERT(!ok()); return *std::get_if<1>(&v_); }
  failure& error() { HEARSAY_ASSERT(!ok()); return *std::get_if<1>(&v_); }
  void ignore() const {}

 private:
  std::variant<T, failure> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(failure f) : failed_(true), error_(std::move(f)) {}  // NOLINT: implicit by design

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const failure& error() const { HEARSAY_ASSERT(failed_); return error_; }
  failure& error() { HEARSAY_ASSERT(failed_); return error_; }
  void ignore() const {}

 private:
  bool failed_ = false;
  failure error_;
};

// result<> from an std::error_code: success when the code is empty.
inline result<> check(std::error_code ec, std::string context = {}) {
  if (!ec) return {};
  return failure(ec, std::move(context));
}

}  // namespace hearsay
