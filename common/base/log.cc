#include "common/base/log.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <mutex>

#include "common/base/strings.h"

namespace tern::log {
namespace {

struct State {
  std::mutex mu;
  std::string program = "tern";
  std::string syslog_name = "tern";
  Sink sink;
  std::atomic<int> verbose{0};
  // tag() of every line, made once: getpid(2) is a system call (glibc
  // stopped caching it), and a busy smtpd logs several lines per message.
  // Emptied when a part changes; a forked child empties it (its pid
  // differs) from the pthread_atfork handler, which takes no lock.
  std::string tag;
  std::atomic<bool> tag_valid{false};
};

State& state() {
  static State* s = [] {
    auto* st = new State;  // never destroyed: worker threads may log at exit
    pthread_atfork(nullptr, nullptr, [] { state().tag_valid.store(false); });
    return st;
  }();
  return *s;
}

void stderr_sink(Level, std::string_view tag, std::string_view text) {
  std::string line;
  line.reserve(tag.size() + text.size() + 3);
  line.append(tag).append(": ").append(text).push_back('\n');
  (void)!::write(2, line.data(), line.size());
}

void vlog(Level level, const char* prefix, const char* fmt, va_list ap) {
  std::string text = prefix;
  text += vstrf(fmt, ap);
  write(level, text);
}

}  // namespace

void init(std::string_view program) {
  std::lock_guard lock(state().mu);
  state().program = std::string(program);
  state().tag_valid.store(false);
}

void set_syslog_name(std::string_view name) {
  std::lock_guard lock(state().mu);
  state().syslog_name = std::string(name);
  state().tag_valid.store(false);
}

std::string program() {
  std::lock_guard lock(state().mu);
  return state().program;
}

std::string tag() {
  State& st = state();
  std::lock_guard lock(st.mu);
  if (!st.tag_valid.load()) {
    st.tag = st.syslog_name + "/" + st.program + "[" + std::to_string(::getpid()) + "]";
    st.tag_valid.store(true);
  }
  return st.tag;
}

void set_sink(Sink sink) {
  std::lock_guard lock(state().mu);
  state().sink = std::move(sink);
}

void to_stderr() { set_sink(nullptr); }

void set_verbose(int level) { state().verbose = level; }
int verbose() { return state().verbose; }

void write(Level level, std::string_view text) {
  std::string t = tag();
  Sink sink;
  {
    std::lock_guard lock(state().mu);
    sink = state().sink;
  }
  // Control characters in hostile input must not forge extra log lines.
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) clean.push_back((static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c);
  if (sink)
    sink(level, t, clean);
  else
    stderr_sink(level, t, clean);
}

#define TERN_LOG_FN(name, level, prefix)  \
  void name(const char* fmt, ...) {      \
    va_list ap;                          \
    va_start(ap, fmt);                   \
    vlog(level, prefix, fmt, ap);        \
    va_end(ap);                          \
  }

void debug(const char* fmt, ...) {
  if (state().verbose <= 0) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(Level::kDebug, "", fmt, ap);
  va_end(ap);
}
TERN_LOG_FN(info, Level::kInfo, "")
TERN_LOG_FN(notice, Level::kNotice, "")
TERN_LOG_FN(warning, Level::kWarning, "warning: ")
TERN_LOG_FN(error, Level::kError, "error: ")
#undef TERN_LOG_FN

void fatal(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(Level::kCrit, "fatal: ", fmt, ap);
  va_end(ap);
  std::exit(1);
}

void panic(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(Level::kCrit, "panic: ", fmt, ap);
  va_end(ap);
  std::abort();
}

}  // namespace tern::log
