#pragma once
// Logging: one line per event, tagged "<syslog_name>/<program>[pid]", with
// Postfix's "warning: ", "error: ", "fatal: ", "panic: " prefixes so existing
// log summarisers keep working.
//
// Daemons started by master send each line as one datagram on the log socket
// master passes them (see common/server/master_link.h); master writes it to
// syslog or maillog_file. Tools and tests log to stderr. Thread-safe.

#include <functional>
#include <string>
#include <string_view>

namespace tern::log {

// Values are syslog priorities.
enum class Level { kCrit = 2, kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

// Receives the tag ("tern/smtpd[123]") and the text (with its prefix).
using Sink = std::function<void(Level, std::string_view tag, std::string_view text)>;

void init(std::string_view program);  // sets the program name; sink stays as is
void set_syslog_name(std::string_view name);  // default "tern"
std::string program();
std::string tag();  // "tern/program[pid]"
void set_sink(Sink sink);
void to_stderr();  // the default sink
void set_verbose(int level);
int verbose();

void debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));  // only when verbose
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void notice(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Environment or configuration problem: log and exit(1); master throttles.
[[noreturn]] void fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Broken invariant (our bug): log and abort() for a core.
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

void write(Level level, std::string_view text);

}  // namespace tern::log

#define TERN_ASSERT(cond)                                                                  \
  do {                                                                                     \
    if (!(cond)) ::tern::log::panic("%s:%d: assertion failed: %s", __FILE__, __LINE__, #cond); \
  } while (0)
