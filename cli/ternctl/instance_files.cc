// main.cf, master.cf and aliases of a fresh instance (instance_files.h).

#include "cli/ternctl/instance_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "common/base/strings.h"

namespace tern::ctl {
namespace {

std::string kv(const std::string& name, const std::string& value) { return name + " = " + value + "\n"; }

}  // namespace

std::string main_cf_text(const InstanceSettings& s) {
  const std::string& d = s.dir;
  std::string t;
  t += "# main.cf of the Tern instance in " + d + ", written by \"ternctl -c " + d + " init\".\n";
  t += "# Every parameter not set here has its default: \"ternconf -c " + d + " -d\" lists\n";
  t += "# them all, \"ternconf -c " + d + " -n\" shows what this file changes, and\n";
  t += "# \"ternconf -c " + d + " name=value\" edits this file keeping its comments.\n";
  t += "# After a change: ternctl -c " + d + " reload\n\n";

  t += "# Everything of this instance lives under its configuration directory, so\n";
  t += "# several instances run side by side.\n";
  t += kv("queue_directory", d + "/queue");
  t += kv("daemon_directory", s.daemon_directory);
  t += kv("command_directory", s.command_directory);
  t += kv("maillog_file", d + "/log/maillog");
  t += "\n";

  t += "# The name given in HELO/EHLO and in the certificate's subjectAltName. init\n";
  t += "# chose mail.<domain> rather than the host's own name, which is often\n";
  t += "# \"localhost\" or a container id; on a public server set it to the name\n";
  t += "# the domain's MX record points at (and replace the certificate).\n";
  t += kv("myhostname", s.hostname);
  t += "\n";

  t += "# Mail for these domains is delivered to the users of passwd_file, into\n";
  t += "# Maildirs under virtual_mailbox_base.\n";
  t += kv("virtual_mailbox_domains", s.domain);
  t += kv("virtual_mailbox_base", d + "/mail");
  t += kv("passwd_file", d + "/users");
  t += "\n";

  t += "# The addresses the inet services of master.cf listen on.\n";
  t += kv("inet_interfaces", s.listen_address);
  t += "\n";

  t += "# No network is trusted to relay: only authenticated clients (SASL on the\n";
  t += "# submission and smtps ports) may send mail to other domains.\n";
  t += "mynetworks =\n";
  if (s.port_base_given) {
    t += "# No reverse DNS lookups of clients: a test instance (--port-base) must not\n";
    t += "# depend on a resolver. A real server looks clients up (the default).\n";
    t += kv("smtpd_peername_lookup", "no");
  } else {
    t += "# Clients' names are looked up in the DNS (PTR, forward-confirmed) through\n";
    t += "# the resolvers of /etc/resolv.conf; dns_servers names others.\n";
    t += "#smtpd_peername_lookup = no\n";
  }
  t += "\n";

  t += "# A self-signed certificate made by init; replace it with one from a CA.\n";
  t += kv("smtpd_tls_cert_file", d + "/tls/cert.pem");
  t += kv("smtpd_tls_key_file", d + "/tls/key.pem");
  t += "\n";

  t += "# Aliases for postmaster, abuse and root. After editing " + d + "/aliases\n";
  t += "# rebuild the table: ternmap -c " + d + " -a lmdb:" + d + "/aliases\n";
  t += kv("alias_maps", "lmdb:" + d + "/aliases");
  t += kv("alias_database", "lmdb:" + d + "/aliases");
  return t;
}

namespace {

struct Service {
  std::string comment;
  std::string name;
  const char* type;
  const char* priv;
  const char* unpriv;
  const char* chroot;
  const char* wakeup;
  const char* maxproc;
  const char* program;
  std::vector<std::string> opts;  // each "-o name=value"
  bool optional = false;          // written commented out even when installed
};

bool installed(const std::string& dir, const char* program) {
  std::string path = dir + "/" + program;
  return ::access(path.c_str(), X_OK) == 0;
}

std::string service_text(const Service& sv, const std::string& daemon_dir) {
  bool have = installed(daemon_dir, sv.program);
  bool on = have && !sv.optional;
  std::string t = "# " + sv.comment + "\n";
  if (!have) t += strf("# (enabled when %s is installed)\n", sv.program);
  std::string p = on ? "" : "#";
  // A commented line keeps the columns under the header's.
  t += p + strf("%-*s %-5s %-7s %-7s %-7s %-7s %-7s %s\n", on ? 10 : 9, sv.name.c_str(), sv.type, sv.priv,
                sv.unpriv, sv.chroot, sv.wakeup, sv.maxproc, sv.program);
  for (const auto& o : sv.opts) t += p + "  -o " + o + "\n";
  return t + "\n";
}

std::string port(const InstanceSettings& s, int standard) { return std::to_string(s.port_base + standard); }

std::vector<Service> services(const InstanceSettings& s) {
  const std::string priv_group = "tern_listen_group=" + s.private_group;
  const std::string login_group = "tern_listen_group=" + s.login_group;
  const std::string vmail = "tern_user=" + s.vmail_owner;
  const std::string auth = "tern_user=" + s.auth_owner;
  const std::string q = s.dir + "/queue";
  return {
      {"SMTP from other mail servers", port(s, 25), "inet", "n", "-", "y", "-", "-", "smtpd", {}},
      {"Submission from mail clients: STARTTLS required, then SASL", port(s, 587), "inet", "n", "-", "y", "-",
       "-", "smtpd",
       {"smtpd_tls_security_level=encrypt", "smtpd_sasl_auth_enable=yes", "smtpd_sasl_auth_required=yes"}},
      {"Submission over implicit TLS (RFC 8314)", port(s, 465), "inet", "n", "-", "y", "-", "-", "smtpd",
       {"smtpd_tls_wrappermode=yes", "smtpd_sasl_auth_enable=yes", "smtpd_sasl_auth_required=yes"}},
      {"IMAP with STARTTLS; imap-login runs chrooted in login/ and hands clients to imapd", port(s, 143),
       "inet", "n", "-", "y", "-", "-", "imap-login",
       {"tern_user=" + s.login_owner, "tern_chroot_dir=" + q + "/login"}},
      {"IMAP over implicit TLS", port(s, 993), "inet", "n", "-", "y", "-", "-", "imap-login",
       {"tern_user=" + s.login_owner, "tern_chroot_dir=" + q + "/login", "imap_tls_wrappermode=yes"}},
      {"Optional: LMTP on the network, for another MTA (Postfix) delivering here", port(s, 24), "inet", "n",
       "n", "n", "-", "-", "lmtp-deliver", {vmail}, true},
      {"Picks up local submissions from maildrop/", "pickup", "unix", "n", "-", "y", "60", "1", "pickup", {}},
      {"The queue manager", "qmgr", "unix", "n", "-", "n", "300", "1", "qmgr", {}},
      {"Per-client connection counts and rates for every smtpd process, and IMAP sessions per user and address",
       "anvil", "unix", "-", "-", "y", "-",
       "1", "anvil", {priv_group}},
      {"Delivery to other mail servers", "smtp", "unix", "-", "-", "y", "-", "-", "smtp-client", {priv_group}},
      {"LMTP client (to lmtp-deliver, or to Dovecot)", "lmtp", "unix", "-", "-", "y", "-", "-", "smtp-client",
       {priv_group}},
      {"Delivery into the Maildirs", "deliver", "unix", "-", "n", "n", "-", "-", "lmtp-deliver",
       {vmail, priv_group}},
      {"IMAP after login, as the vmail account", "login/imap", "unix", "-", "n", "n", "-", "-", "imapd",
       {vmail, login_group}},
      {"Authentication: SASL for smtpd (Dovecot's auth protocol)", "auth", "unix", "-", "n", "n", "-", "-",
       "authd", {auth, priv_group}},
      {"Authentication for imap-login, and imapd's confirmation of its logins: one process (maxproc 1),\n"
       "# as only the process that did a login can confirm it",
       "login/auth", "unix", "-", "n", "n", "-", "1", "authd", {auth, login_group}},
      {"User lookups for lmtp-deliver and imapd (Dovecot's auth-master protocol)", "userdb", "unix", "-", "n",
       "n", "-", "-", "authd", {auth, priv_group}},
      {"Queue listing for non-root users (ternqueue, mailq)", "showq", "unix", "n", "-", "y", "-", "-", "showq",
       {}},
  };
}

}  // namespace

std::string master_cf_text(const InstanceSettings& s) {
  std::string t;
  t += "# master.cf of the Tern instance in " + s.dir + ", written by ternctl init.\n";
  t += "# Postfix's eight columns; \"-\" means the default. Tern's own settings are\n";
  t += "# reserved -o options: tern_user (the account a service runs as; default\n";
  t += "# mail_owner), tern_listen_owner, tern_listen_group, tern_listen_mode (of a\n";
  t += "# unix socket) and tern_chroot_dir (default queue_directory when chroot=y).\n";
  t += "# inet services listen on inet_interfaces (main.cf) at the port given in the\n";
  t += "# first column; unix services under queue_directory (private/ or public/).\n";
  if (s.port_base_given) t += strf("# Ports are the standard ones plus %d (--port-base).\n", s.port_base);
  t += "# After a change: ternctl -c " + s.dir + " reload\n";
  t += "# ==========================================================================\n";
  t += "# service  type  private unpriv  chroot  wakeup  maxproc command + args\n";
  t += "#                (yes)   (yes)   (no)    (never) (100)\n";
  t += "# ==========================================================================\n";
  for (const auto& sv : services(s)) t += service_text(sv, s.daemon_directory);
  return t;
}

std::string aliases_text(const InstanceSettings& s) {
  std::string t;
  t += "# Aliases in /etc/aliases format: \"name: address, address\". The local parts\n";
  t += "# of mydestination (this host's own names) exist only through these.\n";
  t += "# After a change rebuild the table: ternmap -c " + s.dir + " -a lmdb:" + s.dir + "/aliases\n";
  t += "postmaster: " + s.admin + "\n";
  t += "abuse: " + s.admin + "\n";
  t += "root: " + s.admin + "\n";
  return t;
}

}  // namespace tern::ctl
