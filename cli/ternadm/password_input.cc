// Reading a new password (password_input.h).
//
// Echo is turned off on the terminal while the password is typed and put
// back afterwards; a SIGINT, SIGTERM, SIGHUP or SIGQUIT in between restores
// it too (tcsetattr is async-signal-safe) before the signal takes its
// default course, so an interrupted ternadm never leaves a silent shell.

#include "cli/ternadm/password_input.h"

#include <openssl/crypto.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

namespace tern::adm {
namespace {

struct termios saved_termios;
volatile sig_atomic_t echo_off = 0;

void restore_and_reraise(int sig) {
  if (echo_off) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// One line from fd 0, at most limit bytes before the newline; "\r\n" and
// "\n" are removed. Errc::kInvalid when longer, kNotFound at EOF without data.
Result<std::string> read_line(size_t limit) {
  std::string line;
  for (;;) {
    char c;
    ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read standard input");
    }
    if (n == 0) {
      if (line.empty()) return make_error(Errc::kNotFound, "no password on standard input");
      break;
    }
    if (c == '\n') break;
    if (line.size() >= limit) {
      OPENSSL_cleanse(line.data(), line.size());
      return invalid("password longer than " + std::to_string(kMaxPassword) + " bytes");
    }
    line.push_back(c);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::string> prompt(const char* text) {
  struct sigaction sa {};
  sa.sa_handler = restore_and_reraise;
  sigemptyset(&sa.sa_mask);
  struct sigaction old[4];
  const int sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  if (::tcgetattr(STDIN_FILENO, &saved_termios) < 0) return sys_error("tcgetattr");
  for (int i = 0; i < 4; i++) ::sigaction(sigs[i], &sa, &old[i]);
  struct termios quiet = saved_termios;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  echo_off = 1;
  if (::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0) {
    echo_off = 0;
    for (int i = 0; i < 4; i++) ::sigaction(sigs[i], &old[i], nullptr);
    return sys_error("tcsetattr");
  }
  // The prompt only once echo is off: TCSAFLUSH discards what was typed
  // before, so an answer typed right after the prompt must come after it.
  std::fputs(text, stderr);
  std::fflush(stderr);
  auto line = read_line(kMaxPassword);
  ::tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
  echo_off = 0;
  for (int i = 0; i < 4; i++) ::sigaction(sigs[i], &old[i], nullptr);
  return line;
}

}  // namespace

Status check_password(const std::string& pw) {
  if (pw.empty()) return invalid("empty password");
  if (pw.size() > kMaxPassword) return invalid("password longer than " + std::to_string(kMaxPassword) + " bytes");
  if (pw.find_first_of(std::string("\0\r\n", 3)) != std::string::npos)
    return invalid("password holds a NUL, CR or LF byte");
  return {};
}

Result<std::string> read_new_password() {
  if (!::isatty(STDIN_FILENO)) {
    auto line = read_line(kMaxPassword);
    if (!line) return line;
    if (Status st = check_password(*line); !st) return st.take_error();
    return line;
  }
  auto first = prompt("New password: ");
  if (!first) return first;
  if (Status st = check_password(*first); !st) return st.take_error();
  auto second = prompt("Retype new password: ");
  if (!second) return second;
  bool same = first->size() == second->size() && CRYPTO_memcmp(first->data(), second->data(), first->size()) == 0;
  OPENSSL_cleanse(second->data(), second->size());
  if (!same) {
    OPENSSL_cleanse(first->data(), first->size());
    return invalid("the passwords do not match");
  }
  return first;
}

}  // namespace tern::adm
