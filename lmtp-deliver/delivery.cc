#include "lmtp-deliver/delivery.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "common/base/durable.h"
#include "common/store/maildir.h"
#include "common/store/message_file.h"

namespace tern::lmtp {
namespace {

constexpr size_t kCopyChunk = 64 * 1024;

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string parent_of(const std::string& p) {
  size_t slash = p.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return p.substr(0, slash);
}

// mkdir -p of the home's parents, but only below mailbox_base (which
// ternctl check makes): mail/<domain>/ for mail/<domain>/<user>. A parent
// outside it is the operator's to create.
Status make_parents(const std::string& home, std::string base) {
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string parent = parent_of(home);
  if (is_dir(parent)) return {};
  if (base.empty() || parent.size() <= base.size() || parent.compare(0, base.size(), base) != 0 ||
      parent[base.size()] != '/')
    return make_error(Errc::kNotFound, "the parent of the home " + home + " does not exist");
  std::vector<std::string> missing;
  for (std::string p = parent; p.size() > base.size() && !is_dir(p); p = parent_of(p)) missing.push_back(p);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) < 0 && errno != EEXIST) return sys_error("mkdir " + *it);
    if (Status st = fsync_dir(parent_of(*it)); !st) return st;
  }
  return {};
}

Reply reply(int code, const char* enhanced, std::string text) { return Reply{code, enhanced, std::move(text)}; }

Reply write_error(const std::string& address, const Error& e) {
  if (e.code == Errc::kSystem && (e.err == ENOSPC || e.err == EDQUOT))
    return reply(452, "4.3.1", "<" + address + "> Insufficient system storage");
  return reply(451, "4.3.0", "<" + address + "> Temporary failure writing the message");
}

}  // namespace

std::string Reply::line() const {
  std::string l = std::to_string(code) + " ";
  if (!enhanced.empty()) l += enhanced + " ";
  return l + text;
}

namespace {

// Homes whose Maildir (cur/ new/ tmp/ and the special-use folders) this
// process made or found complete: their next deliveries skip the dozen
// stat and mkdir calls of ensure_maildir. A Maildir removed behind our
// back shows as ENOENT when the copy is created in tmp/; deliver_copy then
// forgets the home and prepares it again. Bounded: emptied when full.
class PreparedHomes {
 public:
  bool has(const std::string& home) {
    std::lock_guard<std::mutex> lock(mu_);
    return homes_.count(home) != 0;
  }
  void add(const std::string& home) {
    std::lock_guard<std::mutex> lock(mu_);
    if (homes_.size() >= kMax) homes_.clear();
    homes_.insert(home);
  }
  void forget(const std::string& home) {
    std::lock_guard<std::mutex> lock(mu_);
    homes_.erase(home);
  }

 private:
  static constexpr size_t kMax = 10000;
  std::mutex mu_;
  std::unordered_set<std::string> homes_;
};

PreparedHomes& prepared_homes() {
  static PreparedHomes homes;
  return homes;
}

}  // namespace

Status prepare_mailbox(const Mailbox& box) {
  if (box.home.empty() || box.home[0] != '/') return invalid("home is not an absolute path: " + box.home);
  if (prepared_homes().has(box.home)) return {};
  if (Status st = make_parents(box.home, box.mailbox_base); !st) return st;
  if (Status st = store::ensure_maildir(box.home); !st) return st;
  prepared_homes().add(box.home);
  return {};
}

namespace {

Result<store::MessageWriter> create_copy(const Mailbox& box, const std::string& dir) {
  auto w = store::MessageWriter::create(dir);
  if (w || w.error().code != Errc::kSystem || w.error().err != ENOENT) return w;
  prepared_homes().forget(box.home);
  if (Status st = prepare_mailbox(box); !st) return st.error();
  return store::MessageWriter::create(dir);
}

}  // namespace

Reply check_mailbox(const Mailbox& box, const std::string& address) {
  if (box.quota.unlimited()) return reply(250, "2.1.5", "Ok");
  if (Status st = prepare_mailbox(box); !st)
    return reply(451, "4.3.0", "<" + address + "> Temporary failure: mailbox unavailable");
  auto verdict = store::check_quota(store::maildir_path(box.home), box.quota, 1);
  if (!verdict) return reply(451, "4.3.0", "<" + address + "> Temporary failure: quota unknown");
  if (*verdict != store::QuotaVerdict::kOk) return reply(452, "4.2.2", "<" + address + "> Mailbox is full");
  return reply(250, "2.1.5", "Ok");
}

DeliveryResult deliver_copy(const DeliveryRequest& req) {
  DeliveryResult r;
  const std::string& addr = req.address;
  if (Status st = prepare_mailbox(req.box); !st) {
    r.reply = reply(451, "4.3.0", "<" + addr + "> Temporary failure: mailbox unavailable");
    r.why = "cannot create the mailbox: " + st.error().text;
    return r;
  }
  const std::string md = store::maildir_path(req.box.home);
  // The detail folder only when it exists; otherwise INBOX (Dovecot's
  // lmtp_save_to_detail_mailbox does not create folders either here).
  r.folder = "INBOX";
  std::string dir = md;
  if (!req.folder.empty() && store::check_folder_name(req.folder)) {
    auto path = store::folder_path(md, req.folder);
    if (path && is_dir(*path + "/new") && is_dir(*path + "/tmp")) {
      dir = *path;
      r.folder = req.folder;
    }
  }
  // The stored size: the prepended lines plus the message, CRLF already.
  r.size = req.prepend.size() + req.spool_size;
  auto verdict = store::check_quota(md, req.box.quota, r.size);
  if (!verdict) {
    r.reply = reply(451, "4.3.0", "<" + addr + "> Temporary failure: quota unknown");
    r.why = "quota: " + verdict.error().text;
    return r;
  }
  if (*verdict == store::QuotaVerdict::kTooBig) {
    r.reply = reply(552, "5.2.2", "<" + addr + "> Message is larger than the mailbox quota");
    r.why = "message larger than the quota";
    return r;
  }
  if (*verdict == store::QuotaVerdict::kOverQuota) {
    r.reply = reply(452, "4.2.2", "<" + addr + "> Mailbox is full");
    r.why = "mailbox full (quota)";
    return r;
  }
  auto w = create_copy(req.box, dir);
  Status st = w ? w->write(req.prepend) : Status(w.error());
  std::string buf(kCopyChunk, '\0');
  for (uint64_t off = 0; st && off < req.spool_size;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kCopyChunk, req.spool_size - off));
    ssize_t n = ::pread(req.spool_fd, buf.data(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      st = n < 0 ? Status(sys_error("read the spooled message")) : Status(make_error(Errc::kSystem, "spool file shrank"));
      break;
    }
    st = w->write(std::string_view(buf.data(), static_cast<size_t>(n)));
    off += static_cast<uint64_t>(n);
  }
  if (st) {
    auto name = w->commit();
    if (name) r.file = *name;
    else st = name.take_error();
  }
  if (!st) {
    r.reply = write_error(addr, st.error());
    r.why = "cannot write the message: " + st.error().text;
    return r;
  }
  r.size = w->bytes();
  // After the commit: usage may lag by this message after a crash, which
  // the next recalculation corrects; it is never ahead of the files.
  if (!req.box.quota.unlimited()) (void)store::add_usage(md, static_cast<int64_t>(r.size), 1);
  r.reply = reply(250, "2.0.0", "<" + addr + "> Saved to " + r.folder);
  return r;
}

}  // namespace tern::lmtp
