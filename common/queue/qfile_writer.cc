// Queue file writer (qfile_writer.h; the format is in qfile.h).

#include "common/queue/qfile_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

#include "common/base/durable.h"
#include "common/base/fault.h"
#include "common/base/strings.h"
#include "common/ipc/escape.h"
#include "common/queue/queue_dirs.h"
#include "common/queue/queue_id.h"

namespace tern::queue {
namespace {

// Appends one record line, refusing what a reader would refuse.
Status add_line(std::string& out, std::string_view name, std::string_view escaped_value, bool with_value = true) {
  size_t size = name.size() + (with_value ? 1 + escaped_value.size() : 0) + 1;
  if (size > kMaxRecordLine)
    return make_error(Errc::kLimit, std::string(name) + " record longer than " + std::to_string(kMaxRecordLine) +
                                        " bytes");
  out += name;
  if (with_value) {
    out += ' ';
    out += escaped_value;
  }
  out += '\n';
  return {};
}

std::string format_arrival(WallTime t) {
  long long us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return strf("%lld.%06lld", us / 1000000, us % 1000000);
}

// Pads so that a status field starting `prefix` bytes into the next line
// stays inside one kStatusSector (qfile.h).
void align_status(std::string& out, size_t prefix) {
  uint64_t start = out.size() + prefix;
  uint64_t last = start + kStatusWidth - 1;
  if (start / kStatusSector == last / kStatusSector) return;
  uint64_t need = (start / kStatusSector + 1) * kStatusSector - start;
  // "pad\n" is the shortest pad line; a longer one moves the field a few
  // bytes past the boundary, still far from the next.
  size_t len = std::max<uint64_t>(need, record::kPad.size() + 1);
  out += record::kPad;
  if (len > record::kPad.size() + 1) out += std::string(len - record::kPad.size() - 1, ' ');
  out += '\n';
}

Status add_recipient(std::string& out, const Recipient& r) {
  if (r.address.empty()) return invalid("recipient without an address");
  std::string line;
  std::string_view status = status_name(r.status);
  line += status;
  line.append(kStatusWidth - status.size(), ' ');
  auto field = [&line](std::string_view key, std::string_view value) {
    line += '\t';
    line += key;
    line += '=';
    line += ipc::escape(value);
  };
  field(record::kTo, r.address);
  if (!r.orcpt.empty()) field(record::kOrcpt, r.orcpt);
  if (r.notify != 0) {
    if (r.notify & ~(kNotifyNever | kNotifySuccess | kNotifyFailure | kNotifyDelay) ||
        ((r.notify & kNotifyNever) && r.notify != kNotifyNever))
      return invalid("bad NOTIFY flags for " + r.address);
    field(record::kNotify, format_notify(r.notify));
  }
  if (!r.original.empty()) field(record::kOriginal, r.original);
  align_status(out, record::kRcpt.size() + 1);
  return add_line(out, record::kRcpt, line);
}

}  // namespace

Result<std::string> format_envelope(const Envelope& env) {
  if (env.recipients.empty()) return invalid("envelope without recipients");
  if (env.arrival.time_since_epoch().count() < 0) return invalid("arrival time before 1970");
  std::string out;
  out += strf("%s %d\n", std::string(kQfileMagic).c_str(), kQfileVersion);
  Status st = add_line(out, record::kArrival, format_arrival(env.arrival));
  if (st) st = add_line(out, record::kSender, ipc::escape(env.sender));
  if (st && env.body != BodyType::kUnspecified) st = add_line(out, record::kBody, body_type_name(env.body));
  if (st && env.smtputf8) st = add_line(out, record::kSmtputf8, "yes");
  if (st && env.ret != DsnRet::kUnspecified) st = add_line(out, record::kRet, dsn_ret_name(env.ret));
  if (st && !env.envid.empty()) st = add_line(out, record::kEnvid, ipc::escape(env.envid));
  if (!st) return st.take_error();
  for (const auto& [name, value] : env.attributes) {
    if (!is_attribute_name(name)) return invalid("bad attribute name \"" + ipc::escape(name) + "\"");
    if (Status s = add_line(out, name, ipc::escape(value)); !s) return s.take_error();
  }
  for (const auto& r : env.recipients)
    if (Status s = add_recipient(out, r); !s) return s.take_error();
  if (Status s = add_line(out, record::kEoe, "", false); !s) return s.take_error();
  return out;
}

Result<QfileWriter> QfileWriter::create(const std::string& queue_dir, const std::string& id, const Envelope& envelope,
                                        WriterOptions options) {
  if (!is_valid_queue_id(id)) return invalid("not a queue ID: \"" + ipc::escape(id) + "\"");
  auto text = format_envelope(envelope);
  if (!text) return text.take_error();
  QfileWriter w;
  w.queue_dir_ = queue_dir;
  w.id_ = id;
  w.size_limit_ = options.size_limit;
  w.target_ = options.target;
  w.tmp_path_ = options.tmp_name.empty() ? path_of(queue_dir, Queue::kTmp, id) : queue_dir + "/" + options.tmp_name;
  w.mode_ = options.mode;
  w.buffer_ = std::move(*text);
  w.buffer_.reserve(kBufferSize + 64);
  return w;
}

QfileWriter::QfileWriter(QfileWriter&& other) noexcept { *this = std::move(other); }

QfileWriter& QfileWriter::operator=(QfileWriter&& other) noexcept {
  if (this == &other) return *this;
  abort();
  queue_dir_ = std::move(other.queue_dir_);
  id_ = std::move(other.id_);
  tmp_path_ = std::exchange(other.tmp_path_, std::string());
  fd_ = std::move(other.fd_);
  buffer_ = std::move(other.buffer_);
  message_size_ = other.message_size_;
  size_limit_ = other.size_limit_;
  target_ = other.target_;
  mode_ = other.mode_;
  created_ = std::exchange(other.created_, false);
  state_ = std::exchange(other.state_, State::kAborted);
  error_ = std::move(other.error_);
  return *this;
}

QfileWriter::~QfileWriter() { abort(); }

std::string QfileWriter::incoming_path() const { return path_of(queue_dir_, target_, id_); }

Status QfileWriter::fail(Error e) {
  state_ = State::kFailed;
  error_ = e;
  buffer_.clear();
  buffer_.shrink_to_fit();
  return e;
}

// The file is made when the first bytes go out: at finish() for a message
// that fits the buffer, so that smtpd's loop never waits for the inode
// allocation of a small message (the worker that finishes it makes it).
Status QfileWriter::open_file() {
  // O_EXCL: a leftover with this name (queue_id.h says how one could arise)
  // is an error, never overwritten.
  auto fd = open_fd(tmp_path_, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!fd) return fd.take_error();
  created_ = true;
  // fchmod: open(2) applied the umask, which is the caller's (terndrop).
  if (mode_ != 0600 && ::fchmod(fd->get(), static_cast<mode_t>(mode_)) < 0) return sys_error("fchmod " + tmp_path_);
  fd_ = std::move(*fd);
  return {};
}

Status QfileWriter::write_out(std::string_view bytes) {
  if (bytes.empty()) return {};
  if (!fd_) {
    if (Status st = open_file(); !st) return st;
  }
  if (int err = fault::check(fault::Point::kWrite)) return sys_error("write " + tmp_path_, err);
  if (Status st = write_all(fd_.get(), bytes); !st) {
    Error e = st.take_error();
    e.text = "write " + tmp_path_ + ": " + e.text;
    return e;
  }
  return {};
}

Status QfileWriter::flush() {
  Status st = write_out(buffer_);
  buffer_.clear();
  return st;
}

Status QfileWriter::append(std::string_view bytes) {
  if (state_ == State::kFailed) return error_;
  if (state_ != State::kWriting) return invalid("queue file " + id_ + ": append after finish or abort");
  message_size_ += bytes.size();
  if (size_limit_ != 0 && message_size_ > size_limit_)
    return fail(make_error(Errc::kLimit, "message exceeds the size limit of " + std::to_string(size_limit_) +
                                             " bytes"));
  if (buffer_.size() + bytes.size() < kBufferSize) {
    buffer_ += bytes;
    return {};
  }
  // Fill the buffer to kBufferSize, write it; a large rest goes straight out.
  // The buffer may already hold more than kBufferSize (an envelope of many
  // recipients): then it goes out as it is, and nothing is taken.
  size_t take = buffer_.size() < kBufferSize ? kBufferSize - buffer_.size() : 0;
  buffer_ += bytes.substr(0, take);
  if (Status st = flush(); !st) return fail(st.take_error());
  bytes.remove_prefix(take);
  if (bytes.size() >= kBufferSize) {
    if (Status st = write_out(bytes); !st) return fail(st.take_error());
  } else {
    buffer_ += bytes;
  }
  return {};
}

Status QfileWriter::finish() {
  if (state_ == State::kFailed) return error_;
  if (state_ != State::kWriting) return invalid("queue file " + id_ + ": finish twice or after abort");
  buffer_ += strf("%s %llu\n", std::string(record::kTrailer).c_str(),
                  static_cast<unsigned long long>(message_size_));
  if (Status st = flush(); !st) return fail(st.take_error());
  if (Status st = fsync_fd(fd_.get(), tmp_path_); !st) return fail(st.take_error());
  // close(2) reports deferred write errors on some filesystems (NFS).
  if (::close(fd_.release()) < 0) return fail(sys_error("close " + tmp_path_));
  state_ = State::kFinished;
  return {};
}

Status QfileWriter::commit() {
  if (state_ == State::kFailed) return error_;
  if (state_ != State::kFinished) return invalid("queue file " + id_ + ": commit before finish");
  std::string target = incoming_path();
  if (Status st = publish_rename_shared(tmp_path_, target); !st) {
    // The rename may have happened with a directory fsync failing after it:
    // the caller answers 4xx, so the file must not stay in incoming/ to be
    // delivered (the client retries). qmgr could have seen it in that
    // instant; that risks a duplicate, never a loss.
    if (::access(tmp_path_.c_str(), F_OK) < 0 && errno == ENOENT) ::unlink(target.c_str());
    return fail(st.take_error());
  }
  state_ = State::kCommitted;
  return {};
}

void QfileWriter::abort() {
  if (state_ == State::kCommitted || state_ == State::kAborted || tmp_path_.empty()) return;
  fd_.reset();
  // A writer that never made its file must not remove one of that name
  // (O_EXCL refused it: it is someone else's).
  if (created_) ::unlink(tmp_path_.c_str());
  state_ = State::kAborted;
}

}  // namespace tern::queue
