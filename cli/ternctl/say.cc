#include "cli/ternctl/say.h"

#include <unistd.h>

#include <cstdarg>
#include <string>

#include "common/base/strings.h"

namespace tern::ctl {
namespace {

void emit(const char* prefix, const char* fmt, va_list ap) {
  std::string line = "ternctl: ";
  line += prefix;
  line += vstrf(fmt, ap);
  line.push_back('\n');
  (void)!::write(2, line.data(), line.size());
}

}  // namespace

void say(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit("", fmt, ap);
  va_end(ap);
}

void say_warning(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit("warning: ", fmt, ap);
  va_end(ap);
}

int say_fatal(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit("fatal: ", fmt, ap);
  va_end(ap);
  return 1;
}

}  // namespace tern::ctl
