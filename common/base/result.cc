#include "common/base/result.h"

#include <cstring>

namespace tern {

Error sys_error(std::string_view what, int err) {
  Error e{Errc::kSystem, err, std::string(what)};
  e.text += ": ";
  e.text += std::strerror(err);
  return e;
}

Error sys_error(std::string_view what) { return sys_error(what, errno); }

Error make_error(Errc code, std::string text) { return Error{code, 0, std::move(text)}; }

}  // namespace tern
