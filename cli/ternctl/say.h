#pragma once
// ternctl's messages to the operator: "ternctl: text" on stderr, with
// Postfix's "warning: " and "fatal: " prefixes. ternctl is a tool run from a
// terminal, so it prints plain lines rather than tagged log lines.

namespace tern::ctl {

void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void say_warning(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Prints "ternctl: fatal: ..." and returns 1, the exit status, so callers
// can write `return say_fatal(...)`. It does not exit.
int say_fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace tern::ctl
