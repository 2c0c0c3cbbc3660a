#include "cli/ternadm/mailbox_status.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

#include "common/auth/passwd_file.h"
#include "common/base/fd.h"
#include "common/store/maildir.h"
#include "common/store/maildirsize.h"
#include "common/store/message_file.h"

namespace tern::adm {
namespace {

int fail(const std::string& text) {
  std::fprintf(stderr, "ternadm: fatal: %s\n", text.c_str());
  return 1;
}

// Messages in <folder>/<sub>; -1 when the directory cannot be read.
long count_messages(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return -1;
  long n = 0;
  while (dirent* e = ::readdir(d.get()))
    if (store::parse_message_name(e->d_name)) ++n;
  return n;
}

std::string count_text(long n) { return n < 0 ? "?" : std::to_string(n); }

std::string limit_text(uint64_t limit, const char* unit) {
  return (limit == 0 ? std::string("unlimited") : std::to_string(limit)) + unit;
}

std::string percent(int64_t used, uint64_t limit) {
  if (limit == 0) return "";
  return " (" + std::to_string(static_cast<long long>(std::max<int64_t>(used, 0) * 100 / static_cast<int64_t>(limit))) +
         "%)";
}

}  // namespace

int mailbox_status(const config::MainCf& cf, const std::string& user) {
  auto vmail = auth::vmail_ids_for(cf.str("vmail_owner"));
  if (!vmail) return fail(vmail.error().text);
  const std::string passwd = cf.str("passwd_file");
  std::vector<std::string> warnings;
  auto users = auth::PasswdFile::load(passwd, *vmail, cf.str("virtual_mailbox_base"), &warnings);
  if (!users) return fail(passwd + ": " + users.error().text);
  const auth::PasswdEntry* e = users->find(user);
  if (!e) return fail(passwd + ": no such user: " + user);
  if (e->home.empty()) return fail(e->user + " has no home directory in " + passwd);
  std::map<std::string, std::string> fields(e->userdb_fields.begin(), e->userdb_fields.end());
  auto limit = store::user_quota(fields, cf.str("quota_rule"));
  const std::string md = store::maildir_path(e->home);

  std::printf("user: %s\n", e->user.c_str());
  std::printf("maildir: %s\n", md.c_str());
  struct stat st;
  if (::stat(md.c_str(), &st) != 0) {
    std::printf("no Maildir yet: lmtp-deliver creates it at the first delivery\n");
    if (limit) std::printf("quota: limit %s, %s\n", limit_text(limit->bytes, " bytes").c_str(),
                           limit_text(limit->messages, " messages").c_str());
    return 0;
  }
  // Usage as lmtp-deliver sees it: maildirsize, read only; a missing or
  // damaged one is recalculated in memory here (lmtp-deliver rewrites it).
  store::QuotaUsage usage;
  std::string source = "maildirsize";
  auto text = read_file(md + "/maildirsize", 1 << 20);
  auto parsed = text ? store::parse_maildirsize(*text) : Result<store::MaildirSizeFile>(text.error());
  if (parsed) {
    usage = parsed->usage;
  } else {
    auto scanned = store::scan_usage(md);
    if (!scanned) return fail(scanned.error().text);
    usage = *scanned;
    source = "a scan (no usable maildirsize)";
  }
  if (!limit) {
    std::printf("quota: the user's quota rule does not parse: %s\n", limit.error().text.c_str());
  } else {
    std::printf("quota: %lld of %s%s, %lld of %s%s, from %s\n", static_cast<long long>(usage.bytes),
                limit_text(limit->bytes, " bytes").c_str(), percent(usage.bytes, limit->bytes).c_str(),
                static_cast<long long>(usage.messages), limit_text(limit->messages, " messages").c_str(),
                percent(usage.messages, limit->messages).c_str(), source.c_str());
  }
  auto folders = store::list_folders(md);
  if (!folders) return fail(folders.error().text);
  std::vector<std::pair<std::string, std::string>> rows = {{"INBOX", md}};
  for (const auto& name : *folders) {
    auto path = store::folder_path(md, name);
    if (path) rows.emplace_back(name, *path);
  }
  size_t width = 6;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  std::printf("%-*s %8s %8s\n", static_cast<int>(width), "folder", "new", "cur");
  for (const auto& [name, path] : rows) {
    std::printf("%-*s %8s %8s\n", static_cast<int>(width), name.c_str(), count_text(count_messages(path + "/new")).c_str(),
                count_text(count_messages(path + "/cur")).c_str());
  }
  return 0;
}

}  // namespace tern::adm
