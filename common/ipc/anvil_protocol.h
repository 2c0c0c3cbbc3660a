#pragma once
// The anvil protocol: per-client connection counts and event rates, shared
// by every process of a service (anvil(8), Postfix's anvil in Tern's line
// format). anvil serves it on private/anvil; smtpd speaks it over one
// persistent connection per process (anvil_client.h).
//
// Lines as in escape.h: a command word, then tab-separated key=value
// fields, with tab, CR, LF and '%' written %09, %0D, %0A, %25. The server
// greets with
//   VERSION<TAB>anvil<TAB>1<TAB>0
// and answers every request with exactly one line, in order, so a client
// may send several requests without waiting. Every request names the
// service (master.cf's service name, so port 25 and submission count
// apart) and the client (its address as text):
//
//   connect<TAB>service=S<TAB>client=A
//       a new connection from A to S, counted for this anvil connection
//       -> ok<TAB>count=N<TAB>rate=R
//          N connections of A to S open now, this one included; R
//          connections in the current rate time unit, this one included
//   disconnect<TAB>service=S<TAB>client=A
//       one of this anvil connection's connections of A to S ended (a
//       disconnect without a matching connect is ignored)
//       -> ok
//   message<TAB>service=S<TAB>client=A
//       a MAIL command          -> ok<TAB>rate=R
//   rcpt<TAB>service=S<TAB>client=A
//       a RCPT command          -> ok<TAB>rate=R
//   lookup<TAB>service=S<TAB>client=A
//       counts nothing          -> ok<TAB>count=N<TAB>rate=R<TAB>message_rate=M<TAB>rcpt_rate=P
//
// A request anvil cannot take (malformed, unknown command, its table full)
// is answered error<TAB>reason=TEXT and the connection stays open; clients
// then act as if anvil were away, and fail open. Fields a request does not
// define are ignored, so a later minor version may add some.
//
// When an anvil connection closes, every connection it counted and did not
// disconnect is released: an smtpd process that dies leaves no count
// behind. Rates count per anvil_rate_time_unit (default 60s) from a
// client's first event in that unit, as Postfix's anvil does.

#include <optional>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::ipc {

inline constexpr std::string_view kAnvilProto = "anvil";
inline constexpr int kAnvilMajor = 1;
inline constexpr int kAnvilMinor = 0;
// Longest request or reply line; a service name or client address beyond
// kAnvilMaxName bytes is refused.
inline constexpr size_t kAnvilMaxLine = 2048;
inline constexpr size_t kAnvilMaxName = 255;

enum class AnvilCommand { kConnect, kDisconnect, kMessage, kRcpt, kLookup };
std::string_view anvil_command_name(AnvilCommand c);

struct AnvilRequest {
  AnvilCommand command = AnvilCommand::kLookup;
  std::string service;
  std::string client;

  std::string format() const;  // one line, with its "\n"
  static Result<AnvilRequest> parse(std::string_view line);
};

struct AnvilReply {
  bool ok = true;
  std::string reason;  // !ok: why
  // The fields the request's command answers; the others stay unset.
  std::optional<int> count, rate, message_rate, rcpt_rate;

  static AnvilReply error(std::string reason);
  std::string format() const;  // one line, with its "\n"
  static Result<AnvilReply> parse(std::string_view line);
};

}  // namespace tern::ipc
