// sendmail -> terndrop (drop.h).

#include "cli/sendmail/drop.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace tern::sendmail {

Result<Drop> Drop::start(const std::string& terndrop, const std::string& config_dir, const queue::Submission& env) {
  auto text = queue::format_submission(env);
  if (!text) return text.take_error();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return sys_error("pipe");
  Fd read_end(fds[0]), write_end(fds[1]);
  std::vector<std::string> args = {terndrop};
  if (!config_dir.empty()) {
    args.push_back("-c");
    args.push_back(config_dir);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    if (::dup2(read_end.get(), 0) < 0) ::_exit(EX_OSERR);
    ::execv(terndrop.c_str(), argv.data());
    std::string msg = "sendmail: fatal: execute " + terndrop + ": " + std::strerror(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(EX_OSFILE);
  }
  Drop d;
  d.pid_ = pid;
  d.pipe_ = std::move(write_end);
  d.send(*text);
  return d;
}

Drop::Drop(Drop&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pipe_(std::move(o.pipe_)), buf_(std::move(o.buf_)), size_(o.size_),
      broken_(o.broken_) {}

Drop::~Drop() { abort(); }

void Drop::send(std::string_view bytes) {
  if (broken_ || !pipe_) return;
  if (auto st = write_all(pipe_.get(), bytes); !st) broken_ = true;  // EPIPE: terndrop exited
}

void Drop::write(std::string_view bytes) {
  size_ += bytes.size();
  buf_ += bytes;
  size_t off = 0;
  while (buf_.size() - off >= queue::kMaxChunk) {
    send(queue::format_chunk(std::string_view(buf_).substr(off, queue::kMaxChunk)));
    off += queue::kMaxChunk;
  }
  buf_.erase(0, off);
}

int Drop::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      pid_ = -1;
      return EX_OSERR;
    }
  }
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return EX_SOFTWARE;
}

int Drop::finish() {
  if (!buf_.empty()) send(queue::format_chunk(buf_));
  buf_.clear();
  send(queue::format_submission_end(size_));
  pipe_.reset();
  return wait();
}

void Drop::abort() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGTERM);
  pipe_.reset();
  (void)wait();
}

}  // namespace tern::sendmail
