// QUOTA (RFC 9208, which obsoletes RFC 2087): every user has one quota
// root, "User quota" (Dovecot's name), over the whole store, with the
// limits of imapd/quota.h: STORAGE in units of 1024 octets and MESSAGE
// (RFC 9208 5.1, 5.2), each listed only when it is limited. A user
// without a quota has no root. SETQUOTA is refused: the limit is the
// administrator's (the userdb's quota_rule).

#include <sys/stat.h>

#include "common/base/log.h"
#include "common/imap/mailbox_name.h"
#include "common/imap/response.h"
#include "imapd/session_impl.h"

namespace tern::imapd {
namespace {

constexpr std::string_view kRoot = "User quota";

// "* QUOTA "User quota" (STORAGE 10 1024 MESSAGE 3 100)\r\n"
std::string quota_line(const store::QuotaLimit& limit, const store::QuotaUsage& used) {
  std::string out = "* QUOTA ";
  imap::append_string(&out, kRoot);
  out += " (";
  std::string res;
  if (limit.bytes != 0) {
    // RFC 9208 5.1: units of 1024 octets, the usage rounded up.
    uint64_t kb = (static_cast<uint64_t>(std::max<int64_t>(used.bytes, 0)) + 1023) / 1024;
    res += "STORAGE " + std::to_string(kb) + " " + std::to_string(limit.bytes / 1024);
  }
  if (limit.messages != 0) {
    if (!res.empty()) res += ' ';
    res += "MESSAGE " + std::to_string(std::max<int64_t>(used.messages, 0)) + " " + std::to_string(limit.messages);
  }
  return out + res + ")\r\n";
}

}  // namespace

void SessionImpl::cmd_getquota(const Command& c, bool by_mailbox) {
  if (c.args.size() != 1 || !c.args[0].is_astring())
    return bad(c, "Error in IMAP command " + c.name + ": Invalid arguments.");
  std::string name;
  if (by_mailbox) {
    auto n = mailbox_arg(c, 0);
    if (!n) return;
    name = *n;
    auto dir = folder_dir(name);
    struct stat st;
    if (!dir || ::stat((*dir + "/cur").c_str(), &st) != 0)
      return no(c, "NONEXISTENT", "Mailbox doesn't exist: " + imap::sanitize_text(name));
  } else if (c.args[0].text != kRoot || !quota_.limited()) {
    return no(c, "NONEXISTENT", "Quota root doesn't exist.");
  }
  if (!quota_.limited()) {
    // RFC 9208 4.3.2: a mailbox without a quota root.
    write("* QUOTAROOT " + imap::format_mailbox(name) + "\r\n");
    return done(c, Condition::kOk, "Getquotaroot completed.");
  }
  auto used = std::make_shared<Result<store::QuotaUsage>>(store::QuotaUsage{});
  imapd_.workers().submit([used, quota = quota_] { *used = quota.usage(); },
                          guard([this, c, used, by_mailbox, name] {
                            if (!*used) {
                              log::warning("imap(%s): %s: %s", user_.user.c_str(), c.name.c_str(),
                                           used->error().text.c_str());
                              return no(c, "SERVERBUG",
                                        "Internal error occurred. Refer to server log for more information.");
                            }
                            if (by_mailbox) {
                              std::string root;
                              imap::append_string(&root, kRoot);
                              write("* QUOTAROOT " + imap::format_mailbox(name) + " " + root + "\r\n");
                            }
                            write(quota_line(quota_.limit(), **used));
                            done(c, Condition::kOk, by_mailbox ? "Getquotaroot completed." : "Getquota completed.");
                          }));
}

void SessionImpl::cmd_setquota(const Command& c) {
  // RFC 9208 4.1.4: the user may not change it.
  no(c, "NOPERM", "Quota can't be changed.");
}

}  // namespace tern::imapd
