#pragma once
// Result<T>: a value or an Error (category, errno, text). Tern's data path
// never throws; system-call failures capture errno at once (sys_error).

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tern {

enum class Errc {
  kSystem,     // a system call failed; err holds errno
  kInvalid,    // malformed input (config, protocol, file)
  kNotFound,   // no such key, user, file
  kLimit,      // a configured limit was exceeded
  kTemporary,  // try again later
  kCorrupt,    // stored data is damaged
};

struct Error {
  Errc code = Errc::kInvalid;
  int err = 0;  // errno when code == kSystem, else 0
  std::string text;
};

// "what: strerror(errno)" with errno captured before anything else runs.
Error sys_error(std::string_view what);
Error sys_error(std::string_view what, int err);
Error make_error(Errc code, std::string text);
inline Error invalid(std::string text) { return make_error(Errc::kInvalid, std::move(text)); }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }
  Error take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }
  Error take_error() { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace tern
